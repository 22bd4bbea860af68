/**
 * An ingest's report with the publication preview of the draft it made, summarised as
 * `lantern ingest` prints it (locally, and from a server's remote ingest): see @lantern/core's
 * IngestSummary.
 */
import { nextIngestStep, type IngestSummary } from '@lantern/core/ingest';
import type { PublicationPreview } from '../catalog/catalog.service.js';
import type { IngestReport } from './ingest.service.js';

/** The ingest's report and the draft's publication preview, summarised. */
export function summarize(
  delivery: string,
  report: IngestReport,
  preview: PublicationPreview,
): IngestSummary {
  return {
    ingest: report.id,
    dataset: report.dataset,
    delivery,
    counts: report.counts,
    tables: report.draft.snapshot.tables.map((t) => ({
      name: t.name,
      file: t.file,
      rows: t.rowCount,
      columns: t.columns.map((c) => c.name),
      primaryKey: t.primaryKey,
    })),
    held: report.held,
    cellProblems: report.problems,
    phi: report.phi,
    decisions: report.decisions,
    publication: {
      version: preview.version,
      level: preview.level,
      publishable: preview.publishable,
      problems: preview.problems,
    },
    next: nextIngestStep(report.dataset, report.phi.blocked, preview.problems),
  };
}
