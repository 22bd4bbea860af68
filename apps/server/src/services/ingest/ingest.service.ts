/**
 * Ingest (issue 6): a partner's delivery — `delivery.yaml`, tables and native files in a folder —
 * read into its dataset's draft, de-identified on the way, so that nothing that identifies a
 * patient is ever stored:
 *
 * 1. the delivery is checked against its manifest, every problem reported at once (nothing stored);
 * 2. each table is streamed through the keyed pseudonyms and per-patient date shifts of
 *    @lantern/deid into a published CSV in the object store, and put into the draft;
 * 3. each native file is de-identified by its format (DICOM by PS3.15's basic profile with
 *    modified dates; slides rewritten without label and macro images or identifying tags; GE MUSE
 *    XML cleaned of demographics; WFDB headers cleaned of their comments and record name, their
 *    signal files travelling with them as they are; NumPy `.npy` headers and `.npz` archives
 *    written again with nothing but their arrays, which stay as delivered) and stored content-addressed under a name that reveals nothing (several files at once
 *    in worker processes, LANTERN_INGEST_WORKERS, ingest-pool.ts and file-ingest.ts, this thread
 *    reading no more of a file than the head its format is told by; outcomes recorded in the
 *    delivery's order, so that the draft is the same whatever the workers); an image that must be
 *    reviewed (burned-in annotation) is held back, its de-identified bytes kept in the quarantine
 *    store for the review (held-files.service.ts), and a file no de-identifier reads is held back
 *    with no bytes kept at all;
 * 4. the published tables are scanned for PHI; publication waits for a curator's decision on
 *    every finding (drop the column, or confirm it is not PHI);
 * 5. keys are inferred from the manifest (patients, studies, references), the dictionary keeps
 *    what curators wrote of columns that are still there.
 *
 * A delivery is a full snapshot: the draft's tables and files become the delivery's. Re-running an
 * ingest after a crash redoes it; the object store keeps each content once.
 *
 * Crash safety (issue 6, "never lose, never leak"): only de-identified bytes are ever written, and
 * a published version is never touched (the catalog's triggers), so a process killed at any moment
 * leaves the previous versions as they were and, at worst, a draft part-way through the delivery.
 * Its run stays `running` with a heartbeat that stops; recoverInterrupted marks it failed as
 * interrupted (at start, and periodically for other replicas' runs), and the catalog refuses to
 * publish a draft whose last ingest did not finish until the delivery is ingested again. Objects
 * stored before the rows that would refer to them dangle; the object sweep
 * (services/objects/object-sweep.service.ts) removes them once no ingest is running.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '@lantern/core';
import type { ForeignKey } from '@lantern/core/catalog';
import type { DeliveryManifest, DeliveryTable } from '@lantern/core/ingest';
import {
  createPseudonymizer,
  dateShiftDays,
  deidentifyTable,
  deliveryFilePath,
  describeDeliveryRefusal,
  openSourceTable,
  phiBlocks,
  PhiScanner,
  readDelivery,
  type DeliveryProblem,
  type PhiDecision,
  type PhiFinding,
  type Pseudonymizer,
} from '@lantern/deid';
import { formatCsvRow, isDicom, isNpy, isTiff, isWfdbHeader, isZip } from '@lantern/formats';
import type { Insertable, Kysely, Transaction } from 'kysely';
import type {
  Database,
  HeldFile,
  IngestCounts,
  IngestHeldFileTable,
  RecordedPhiDecision,
} from '../../db/schema.js';
import { catalogRepository } from '../../repositories/catalog/catalog.repository.js';
import { heldFileRepository } from '../../repositories/ingest/held-file.repository.js';
import {
  ingestRepository,
  type IngestRunRow,
} from '../../repositories/ingest/ingest.repository.js';
import { usersRepository } from '../../repositories/identity/users.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { CatalogService, DatasetInput, VersionView } from '../catalog/catalog.service.js';
import { carryDecisions, type DecisionCarry, type HeldCandidate } from './carry-decisions.js';
import { NotReadWholeError } from './dicom-ingest.js';
import { readHead, unreadable, type FileOutcome, type NativeFileKind } from './file-ingest.js';
import type { HeldFilesService } from './held-files.service.js';
import type { IngestPool } from './ingest-pool.js';

/** Where an ingest is, for progress bars. */
export interface IngestProgress {
  phase: 'checking' | 'tables' | 'files' | 'scanning' | 'done';
  /** Items of the phase done and in all (tables or files). */
  done: number;
  total: number;
  bytes: number;
}

export interface IngestOptions {
  /** Who ingests: `user:<id>` or `system:lantern` (the demo catalogue). */
  actor: string;
  /** What the catalog says of the dataset when the delivery creates it (else placeholders). */
  dataset?: DatasetInput;
  synthetic?: boolean;
  onProgress?: (progress: IngestProgress) => void;
}

/** What an ingest did. */
export interface IngestReport {
  id: string;
  dataset: string;
  counts: IngestCounts;
  held: HeldFile[];
  /** Cells that could not be de-identified (published empty), located. */
  problems: unknown[];
  phi: { findings: PhiFinding[]; blocked: boolean };
  /** The earlier review's decisions carried onto this delivery (carry-decisions.ts). */
  decisions: CarriedDecisionsView;
  draft: VersionView;
}

/** What became of the earlier review's decisions: how many kept, which dropped, what is open. */
export interface CarriedDecisionsView {
  /** The ingest whose review they were; null when there was none. */
  from: string | null;
  kept: { phi: number; held: number };
  /** Decisions that no longer apply: their finding is gone, or their file is no longer held. */
  dropped: { action: 'drop' | 'confirm' | 'release' | 'exclude'; target: string }[];
  /** Findings and held files no decision covers: new, open. */
  open: { findings: number; held: number };
}

/** A held file of this run: its row, inserted with the run's end (with a carried decision). */
type HeldOfRun = HeldCandidate & { row: Insertable<IngestHeldFileTable> };

/** The earlier review mapped onto a run, carried out, and what its end records of it. */
interface Carried {
  from: string | null;
  plan: DecisionCarry<HeldOfRun>;
  /** Released files' bytes, published, for the draft. */
  released: { path: string; objectKey: string; size: number }[];
}

/** A decision on a finding with who took it (their name; null when not recorded) and when. */
export type PhiDecisionView = PhiDecision & { by: string | null; at: string | null };

/** The PHI review of a draft: the last ingest's findings and the decisions taken on them. */
export interface PhiReviewView {
  ingest: string | null;
  findings: PhiFinding[];
  decisions: PhiDecisionView[];
  open: string[];
  blocked: boolean;
  held: HeldFile[];
}

/** A first value of each draft column, for the dictionary; withheld while PHI findings are open. */
export interface DictionaryExamples {
  tables: {
    name: string;
    columns: { name: string; example: string | null; withheld: boolean }[];
  }[];
}

/** Tables and files a delivery table published, and what its rows say of keys. */
interface PublishedTable {
  name: string;
  file: string;
  columns: string[];
  studyId: string | null;
  studyUnique: boolean;
  patientUnique: boolean;
  references: { column: string; table: string }[];
}

/** A native file named by a table: where it is published, whose it is, which cell names it. */
interface NamedFile {
  published: string;
  patient: string;
  table: string;
  column: string;
}

/** How often a running ingest renews its heartbeat. */
export const INGEST_HEARTBEAT_MS = 30_000;
/** A run whose heartbeat is this old was interrupted: its process is gone. */
export const INGEST_STALE_MS = 5 * 60_000;

const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;

export class IngestService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    private readonly pseudonymKey: Uint8Array,
    /** Where native files are de-identified: worker processes, or this thread (one at a time). */
    private readonly pool: IngestPool,
    /** Carries out the held files' decisions carried onto a new delivery. */
    private readonly heldFiles: HeldFilesService,
  ) {}

  /** Ingests the delivery in the folder `dir` into its dataset's draft. */
  async ingestDirectory(dir: string, options: IngestOptions): Promise<IngestReport> {
    const progress = (p: IngestProgress) => options.onProgress?.(p);
    progress({ phase: 'checking', done: 0, total: 1, bytes: 0 });
    const reading = await readDelivery(dir);
    if (!reading.isValid || reading.manifest === null) {
      await this.audit.recordAlone({
        action: 'ingest.refused',
        target: `dataset:${reading.manifest?.dataset ?? 'unknown'}`,
        outcome: 'denied',
        details: { problems: reading.problems.length },
      });
      throw deliveryRefused(reading.problems);
    }
    const manifest = reading.manifest;
    const slug = manifest.dataset;
    await this.ensureDraft(slug, manifest, options);
    const { datasetId, draftId } = await this.catalog.draftIds(slug);
    const id = newId('ing');
    await ingestRepository.insert(this.db, {
      id,
      dataset_id: datasetId,
      version_id: draftId,
      status: 'running',
      partner: manifest.partner,
      counts: JSON.stringify({}),
      problems: JSON.stringify([]),
      held: JSON.stringify([]),
      phi_findings: JSON.stringify([]),
      phi_decisions: JSON.stringify([]),
      created_by: options.actor,
    });
    const heartbeat = setInterval(() => {
      // A missed beat is retried on the next; only a long silence makes the run look interrupted.
      ingestRepository.beat(this.db, id).catch(() => undefined);
    }, INGEST_HEARTBEAT_MS);
    heartbeat.unref();
    try {
      const report = await this.run(id, datasetId, dir, manifest, slug, progress);
      await this.audit.recordAlone({
        action: 'ingest.delivery',
        target: `dataset:${slug}`,
        outcome: 'allowed',
        details: { ingest: id, ...report.counts, phiFindings: report.phi.findings.length },
      });
      return report;
    } catch (error) {
      await ingestRepository.update(this.db, id, {
        status: 'failed',
        error: error instanceof Error ? error.message : String(error),
        finished_at: new Date(),
      });
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Marks failed, as interrupted, the runs left `running` whose heartbeat is `staleMs` old or
   * older: their process died mid-ingest. Their drafts stay as the crash left them (publication
   * refuses them until the delivery is ingested again, which redoes it all). At the start of a
   * server on PGlite, which no other process can open, every running run was interrupted (0);
   * replicas sharing PostgreSQL wait for INGEST_STALE_MS of silence. Returns how many it marked.
   */
  async recoverInterrupted(staleMs: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const runs = await ingestRepository.failInterrupted(trx, staleMs);
      if (runs.length > 0) {
        await this.audit.record(trx, {
          action: 'ingest.interrupted',
          details: { runs },
        });
      }
      return runs.length;
    });
  }

  /** The PHI review of a dataset's draft. */
  async phiReview(slug: string): Promise<PhiReviewView> {
    const { draftId } = await this.catalog.draftIds(slug);
    return this.reviewOf(await ingestRepository.latestDone(this.db, draftId));
  }

  /**
   * The dictionary skeleton's examples: a first value of each draft column (de-identified, as
   * published), except in columns the PHI scan flagged whose findings are still open: those are
   * `withheld` until a curator has confirmed or dropped them. The examples come from the catalog's
   * cache; the withholding is decided here on every answer, after it, so a decision shows at once.
   */
  async dictionaryExamples(slug: string): Promise<DictionaryExamples> {
    const review = await this.phiReview(slug);
    const open = new Set(review.open);
    const flagged = new Set(
      review.findings.filter((f) => open.has(f.id)).map((f) => `${f.table}\u0000${f.column}`),
    );
    const tables = await this.catalog.draftExamples(slug);
    return {
      tables: tables.map(({ table, columns }) => ({
        name: table,
        columns: columns.map(({ name, example }) =>
          flagged.has(`${table}\u0000${name}`)
            ? { name, example: null, withheld: true }
            : { name, example, withheld: false },
        ),
      })),
    };
  }

  /**
   * Records a curator's decisions on the draft's PHI findings. Dropping a column rewrites its
   * published table without it; confirming says why the finding is not PHI. `by` is who decides
   * (`user:<id>`; the demo catalogue decides as `system:lantern`).
   */
  async decidePhi(
    slug: string,
    decisions: PhiDecision[],
    by = 'system:lantern',
  ): Promise<PhiReviewView> {
    const { draftId } = await this.catalog.draftIds(slug);
    const run = await ingestRepository.latestDone(this.db, draftId);
    if (run === undefined) {
      throw new AppError('not_found', `the draft of ${slug} was not made by an ingest`);
    }
    const known = new Set(run.phi_findings.map((f) => f.id));
    for (const decision of decisions) {
      if (decision.action === 'confirm' && !known.has(decision.finding)) {
        // Ids are TABLE.COLUMN:KIND, never a value: naming them saves a round to phi list.
        throw new AppError(
          'validation_failed',
          `no finding ${decision.finding} in this draft; its findings: ${[...known].join(', ') || 'none'}`,
        );
      }
      if (
        decision.action === 'drop' &&
        !run.phi_findings.some((f) => f.table === decision.table && f.column === decision.column)
      ) {
        throw new AppError(
          'validation_failed',
          `no finding in ${decision.table}.${decision.column} in this draft`,
        );
      }
    }
    for (const decision of decisions) {
      if (decision.action === 'drop') {
        await this.dropColumn(slug, decision.table, decision.column);
      }
    }
    const at = new Date().toISOString();
    const all: RecordedPhiDecision[] = [
      ...run.phi_decisions,
      ...decisions.map((decision) => ({ ...decision, by, at })),
    ];
    await this.db.transaction().execute(async (trx) => {
      await ingestRepository.update(trx, run.id, { phi_decisions: JSON.stringify(all) });
      await this.audit.record(trx, {
        action: 'ingest.phi_decisions',
        target: `dataset:${slug}`,
        details: {
          dropped: decisions.filter((d) => d.action === 'drop').length,
          confirmed: decisions.filter((d) => d.action === 'confirm').length,
        },
      });
    });
    return this.reviewOf({ ...run, phi_decisions: all });
  }

  /** The review of a run (an empty one when no ingest made the draft), deciders named. */
  private async reviewOf(run: IngestRunRow | undefined): Promise<PhiReviewView> {
    if (run === undefined) {
      return { ingest: null, findings: [], decisions: [], open: [], blocked: false, held: [] };
    }
    const review = phiBlocks(run.phi_findings, run.phi_decisions);
    const names = new Map<string, string | null>();
    for (const { by } of run.phi_decisions) {
      if (by !== undefined && !names.has(by)) {
        names.set(by, await this.nameOf(by));
      }
    }
    return {
      ingest: run.id,
      findings: run.phi_findings,
      decisions: run.phi_decisions.map(({ by, at, ...decision }) => ({
        ...decision,
        by: by === undefined ? null : (names.get(by) ?? null),
        at: at ?? null,
      })),
      open: review.open.map((f) => f.id),
      blocked: review.blocked,
      held: run.held,
    };
  }

  /** A decider's name: a person's, or "Lantern" for the platform's own (the demo catalogue's). */
  private async nameOf(actor: string): Promise<string | null> {
    if (actor === 'system:lantern') {
      return 'Lantern';
    }
    if (!actor.startsWith('user:')) {
      return null;
    }
    return (await usersRepository.findById(this.db, actor.slice('user:'.length)))?.name ?? null;
  }

  private async ensureDraft(
    slug: string,
    manifest: DeliveryManifest,
    options: IngestOptions,
  ): Promise<void> {
    const exists = await this.catalog.exists(slug);
    if (!exists) {
      await this.catalog.create(
        options.actor,
        options.dataset ?? placeholderDataset(slug, manifest),
        { synthetic: options.synthetic === true },
      );
      return;
    }
    if (!(await this.catalog.hasDraft(slug))) {
      await this.catalog.openDraft(options.actor, slug);
    }
  }

  private async run(
    id: string,
    datasetId: string,
    dir: string,
    manifest: DeliveryManifest,
    slug: string,
    progress: (p: IngestProgress) => void,
  ): Promise<IngestReport> {
    const pseudonymizer = createPseudonymizer(this.pseudonymKey, manifest.partner);
    const counts: IngestCounts = {
      tables: 0,
      rows: 0,
      files: 0,
      stored: 0,
      deduplicated: 0,
      held: 0,
      bytes: 0,
    };
    const problems: unknown[] = [];
    const findings: PhiFinding[] = [];
    const published: PublishedTable[] = [];
    // Source file -> its published path, its patient's source id (for the date shift), its cell.
    const files = new Map<string, NamedFile>();

    for (const table of manifest.tables) {
      progress({
        phase: 'tables',
        done: counts.tables,
        total: manifest.tables.length,
        bytes: counts.bytes,
      });
      const result = await this.publishTable(dir, table, manifest, pseudonymizer, slug);
      published.push(result.table);
      findings.push(...result.findings);
      problems.push(...result.problems);
      for (const [source, entry] of result.files) {
        files.set(source, entry);
      }
      counts.tables += 1;
      counts.rows += result.rows;
    }
    // Each phase ends at its whole (a bar left at N-1 of N reads as stuck).
    progress({
      phase: 'tables',
      done: counts.tables,
      total: manifest.tables.length,
      bytes: counts.bytes,
    });

    // Tables of an earlier delivery that this one no longer has leave the draft (a snapshot).
    const before = await this.catalog.version(slug, 'draft', true);
    for (const table of before.snapshot.tables) {
      if (!published.some((p) => p.name === table.name)) {
        await this.catalog.removeTable(slug, table.name);
      }
    }
    await this.catalog.setKeysFromIngest(slug, inferKeys(published));

    const held: HeldFile[] = [];
    const heldRows: Insertable<IngestHeldFileTable>[] = [];
    const { draftId } = await this.catalog.draftIds(slug);
    const stored: { path: string; objectKey: string; size: number }[] = [];
    // Whether each stored file's bytes were in the store already, as its store said, in order.
    const reports: { key: string; existed: boolean }[] = [];
    let done = 0;
    const take = (entry: NamedFile, outcome: FileOutcome) => {
      done += 1;
      if (outcome.kind === 'held') {
        counts.files += 1;
        held.push({ path: entry.published, reason: outcome.reason });
        heldRows.push({
          id: newId('held'),
          ingest_id: id,
          version_id: draftId,
          path: entry.published,
          table_name: entry.table,
          column_name: entry.column,
          format: outcome.format,
          reason: outcome.reason,
          quarantine_key: outcome.quarantined?.key ?? null,
          size: outcome.quarantined?.size ?? null,
          decision: null,
          note: null,
          decided_by: null,
          decided_at: null,
        });
        counts.held += 1;
        return;
      }
      for (const file of outcome.files) {
        counts.files += 1;
        stored.push({ path: file.path, objectKey: file.key, size: file.size });
        counts.bytes += file.size;
        reports.push({ key: file.key, existed: file.existed });
      }
    };
    // Up to the pool's filesAtOnce files at once (in its worker processes, when it has any),
    // outcomes taken in the delivery's order, whichever finished first: the same rows, progress
    // and counts with any number of workers.
    const inFlight: { entry: NamedFile; outcome: Promise<Settled<FileOutcome>> }[] = [];
    const takeFirst = async () => {
      const first = inFlight.shift();
      if (first === undefined) {
        return;
      }
      progress({ phase: 'files', done, total: files.size, bytes: counts.bytes });
      const settled = await first.outcome;
      if (!settled.ok) {
        // Nothing still writes when the run is marked failed: the other files finish first.
        await Promise.all(inFlight.splice(0).map((next) => next.outcome));
        throw settled.error;
      }
      take(first.entry, settled.value);
    };
    for (const [source, entry] of files) {
      if (inFlight.length >= this.pool.filesAtOnce) {
        await takeFirst();
      }
      inFlight.push({
        entry,
        outcome: settle(this.publishFile(join(dir, source), entry, pseudonymizer)),
      });
    }
    while (inFlight.length > 0) {
      await takeFirst();
    }
    progress({ phase: 'files', done, total: files.size, bytes: counts.bytes });
    countRepeats(reports, counts);
    await this.catalog.replaceNativeFiles(
      slug,
      published.map((t) => t.file),
      stored,
    );

    progress({ phase: 'scanning', done: 0, total: 1, bytes: counts.bytes });
    await this.catalog.keepDictionaryOf(slug);
    const carried = await this.carryDecisions(
      slug,
      { datasetId, draftId },
      findings,
      heldRows.map((row) => ({ path: row.path, quarantineKey: row.quarantine_key ?? null, row })),
    );
    // The held files, the carried decisions and the run's end together: a review never sees half
    // a run's held files, nor a run without the decisions it carried.
    await this.db.transaction().execute(async (trx) => {
      await heldFileRepository.insert(trx, heldRows);
      await ingestRepository.update(trx, id, {
        status: 'done',
        counts: JSON.stringify(counts),
        problems: JSON.stringify(problems.slice(0, 1000)),
        held: JSON.stringify(held),
        phi_findings: JSON.stringify(findings),
        phi_decisions: JSON.stringify(carried.plan.phi.kept),
        finished_at: new Date(),
      });
      await this.recordCarried(trx, slug, id, carried);
    });
    progress({ phase: 'done', done: 1, total: 1, bytes: counts.bytes });
    return {
      id,
      dataset: slug,
      counts,
      held,
      problems,
      phi: { findings, blocked: phiBlocks(findings, carried.plan.phi.kept).blocked },
      decisions: viewOfCarried(carried),
      draft: await this.catalog.version(slug, 'draft', true),
    };
  }

  /**
   * The decisions of the review before this delivery (the draft's last finished ingest's, else
   * the last published version's) mapped onto it (carry-decisions.ts) and carried out while the
   * run is not yet done, as a curator's would be: a carried drop rewrites the new table without
   * its column, a carried release publishes its file's bytes, a carried exclusion empties the
   * cells naming its file. The carried held decisions are set on this run's held rows, to be
   * inserted with them; the rest is recorded at the run's end (recordCarried). A crash before
   * then leaves the run unfinished (publication refuses it) and the decisions where they were.
   */
  private async carryDecisions(
    slug: string,
    ids: { datasetId: string; draftId: string },
    findings: readonly PhiFinding[],
    held: readonly HeldOfRun[],
  ): Promise<Carried> {
    const previous = await this.previousReview(ids);
    const decided =
      previous === undefined
        ? []
        : (await heldFileRepository.ofRun(this.db, previous.id)).flatMap((row) =>
            row.decision === null
              ? []
              : [
                  {
                    path: row.path,
                    quarantineKey: row.quarantine_key,
                    decision: row.decision,
                    note: row.note,
                    by: row.decided_by,
                    at: row.decided_at,
                  },
                ],
          );
    const plan = carryDecisions(
      { phi: previous?.phi_decisions ?? [], held: decided },
      { findings, held },
    );
    for (const decision of plan.phi.kept) {
      if (decision.action === 'drop') {
        await this.dropColumn(slug, decision.table, decision.column);
      }
    }
    for (const { file, decided: earlier } of plan.held.kept) {
      file.row.decision = earlier.decision;
      file.row.note = earlier.note;
      file.row.decided_by = earlier.by;
      file.row.decided_at = earlier.at;
    }
    const released = await this.heldFiles.carryOut(
      slug,
      plan.held.kept.map(({ file, decided: earlier }) => ({
        row: {
          path: file.row.path,
          table_name: file.row.table_name,
          column_name: file.row.column_name,
          quarantine_key: file.quarantineKey,
        },
        action: earlier.decision,
      })),
    );
    return { from: previous?.id ?? null, plan, released };
  }

  /** The review a new delivery's draft follows: its last finished ingest, else the last published. */
  private async previousReview(ids: {
    datasetId: string;
    draftId: string;
  }): Promise<IngestRunRow | undefined> {
    const draft = await ingestRepository.latestDone(this.db, ids.draftId);
    if (draft !== undefined) {
      return draft;
    }
    const published = await catalogRepository.latestPublished(this.db, ids.datasetId);
    return published === undefined ? undefined : ingestRepository.latestDone(this.db, published.id);
  }

  /**
   * Audits each carried decision as a curator's decision is audited, in the run's last
   * transaction, naming the review it comes from, who took it, when, and their note; puts the
   * released files in the draft.
   */
  private async recordCarried(
    trx: Transaction<Database>,
    slug: string,
    ingest: string,
    carried: Carried,
  ): Promise<void> {
    for (const decision of carried.plan.phi.kept) {
      await this.audit.record(trx, {
        action: 'ingest.phi_decisions',
        target: `dataset:${slug}`,
        details: {
          dropped: decision.action === 'drop' ? 1 : 0,
          confirmed: decision.action === 'confirm' ? 1 : 0,
          carried: {
            from: carried.from,
            by: decision.by ?? null,
            at: decision.at ?? null,
            note: decision.note ?? null,
          },
        },
      });
    }
    for (const { file, decided } of carried.plan.held.kept) {
      await this.audit.record(trx, {
        action: decided.decision === 'release' ? 'ingest.held_release' : 'ingest.held_exclude',
        target: `dataset:${slug}`,
        details: {
          ingest,
          file: file.row.id,
          path: file.row.path,
          format: file.row.format,
          carried: {
            from: carried.from,
            by: decided.by,
            at: decided.at?.toISOString() ?? null,
            note: decided.note,
          },
        },
      });
    }
    if (carried.released.length > 0) {
      await this.catalog.putDraftFiles(trx, slug, carried.released);
    }
  }

  /** One table de-identified into a published CSV in the store, scanned for PHI on the way. */
  private async publishTable(
    dir: string,
    table: DeliveryTable,
    manifest: DeliveryManifest,
    pseudonymizer: Pseudonymizer,
    slug: string,
  ): Promise<{
    table: PublishedTable;
    rows: number;
    findings: PhiFinding[];
    problems: unknown[];
    files: Map<string, NamedFile>;
  }> {
    const source = await openSourceTable(join(dir, table.file), table.file);
    const patientIndex = source.columns.indexOf(table.patient);
    const filesIndex = table.files === undefined ? -1 : source.columns.indexOf(table.files);
    // The patient of each source file, learnt as the rows pass (never stored).
    const patientOfFile = new Map<string, string>();
    const watched = {
      columns: source.columns,
      async *[Symbol.asyncIterator]() {
        for await (const row of source) {
          const file = filesIndex < 0 ? null : (row.values[filesIndex] ?? null);
          const patient = row.values[patientIndex] ?? null;
          if (file !== null && patient !== null && patient.trim() !== '') {
            const path = deliveryFilePath(file);
            if (path !== null) {
              patientOfFile.set(path, patient);
            }
          }
          yield row;
        }
      },
    };
    const deidentified = deidentifyTable(watched, { table, manifest, pseudonymizer });
    const columns = [...deidentified.columns];
    const studyId =
      columns[1]?.endsWith('_id') === true && table.study !== undefined ? columns[1] : null;
    const scanner = new PhiScanner({
      table: table.name,
      columns,
      pseudonymColumns: [
        'patient_ngsci_id',
        ...(studyId === null ? [] : [studyId]),
        ...columns.filter((c) => c.endsWith('_id')),
        ...(table.files === undefined ? [] : [table.files]),
      ],
    });
    const patients = new Set<string>();
    const studies = new Set<string>();
    let rows = 0;
    let patientUnique = true;
    let studyUnique = true;
    async function* csv(): AsyncGenerator<Uint8Array> {
      const encoder = new TextEncoder();
      yield encoder.encode(formatCsvRow(columns));
      for await (const row of deidentified.rows) {
        rows += 1;
        scanner.addRow(row);
        const patient = row[0] ?? '';
        if (patients.has(patient)) {
          patientUnique = false;
        }
        patients.add(patient);
        if (studyId !== null) {
          const study = row[1] ?? '';
          if (studies.has(study)) {
            studyUnique = false;
          }
          studies.add(study);
        }
        yield encoder.encode(formatCsvRow(row));
      }
    }
    const file = `tables/${table.name}.csv`;
    try {
      await this.catalog.uploadTable(slug, { table: table.name, file, body: csv() });
    } finally {
      await source.close();
    }
    const files = new Map<string, NamedFile>();
    for (const [sourcePath, publishedPath] of deidentified.files) {
      const patient = patientOfFile.get(sourcePath);
      if (patient !== undefined && table.files !== undefined) {
        files.set(sourcePath, {
          published: publishedPath,
          patient,
          table: table.name,
          column: table.files,
        });
      }
    }
    return {
      table: {
        name: table.name,
        file,
        columns,
        studyId,
        studyUnique: studyId !== null && studyUnique && rows > 0,
        patientUnique: patientUnique && rows > 0,
        references: (table.references ?? []).map((r) => ({ column: r.column, table: r.table })),
      },
      rows,
      findings: scanner.finish(),
      problems: [...deidentified.problems],
      files,
    };
  }

  /**
   * One native file de-identified by its format and stored, or the reason it is held back.
   * Formats are told by their first bytes, never by their names; the file itself is read, and
   * de-identified, by the pool (file-ingest.ts), given only what its de-identifier needs.
   */
  private async publishFile(
    path: string,
    entry: NamedFile,
    pseudonymizer: Pseudonymizer,
  ): Promise<FileOutcome> {
    let head: Uint8Array;
    try {
      head = await readHead(path, 132);
    } catch (error) {
      if (error instanceof NotReadWholeError) {
        return unreadable(`${error.message}; held back, nothing of it stored`);
      }
      throw error;
    }
    const kind = fileKindOf(head, entry.published);
    if (kind === null) {
      return unreadable('no de-identifier reads this format; held back, nothing of it stored');
    }
    const common = {
      path,
      name: entry.published,
      shiftDays: dateShiftDays(pseudonymizer, entry.patient),
    };
    switch (kind) {
      case 'dicom': {
        const patientId = pseudonymizer.patient(entry.patient);
        return this.pool.ingestFile({
          kind,
          ...common,
          uidKey: pseudonymizer.digest('dicom-uid', []),
          pseudonym: { patientId, patientName: patientId },
        });
      }
      case 'muse':
        return this.pool.ingestFile({
          kind,
          ...common,
          pseudonym: { patientId: pseudonymizer.patient(entry.patient) },
        });
      case 'slide':
      case 'numpy':
      case 'wfdb':
        return this.pool.ingestFile({ kind, ...common });
      default:
        return kind satisfies never;
    }
  }

  /**
   * Drops a column from its published table, and from the dictionary: words left there would
   * describe a column the table no longer has, which blocks publication.
   */
  private async dropColumn(slug: string, tableName: string, column: string): Promise<void> {
    await this.catalog.rewriteTable(slug, tableName, (columns) => {
      const index = columns.indexOf(column);
      if (index < 0) {
        return null;
      }
      return {
        columns: columns.filter((_, i) => i !== index),
        row: (values) => values.filter((_, i) => i !== index),
      };
    });
    await this.catalog.keepDictionaryOf(slug);
  }
}

/** What the report says of the carried decisions. */
function viewOfCarried({ from, plan }: Carried): CarriedDecisionsView {
  return {
    from,
    kept: { phi: plan.phi.kept.length, held: plan.held.kept.length },
    dropped: [
      ...plan.phi.dropped.map((decision) =>
        decision.action === 'drop'
          ? { action: decision.action, target: `${decision.table}.${decision.column}` }
          : { action: decision.action, target: decision.finding },
      ),
      ...plan.held.dropped.map((decided) => ({ action: decided.decision, target: decided.path })),
    ],
    open: plan.open,
  };
}

/** A delivery that cannot be ingested: every problem, located, none quoting a row's value. */
function deliveryRefused(problems: DeliveryProblem[]): AppError {
  const refusal = describeDeliveryRefusal(problems);
  return new AppError('validation_failed', refusal.message, { errors: refusal.problems });
}

/** What the catalog says of a dataset a delivery creates, until a curator writes it. */
function placeholderDataset(slug: string, manifest: DeliveryManifest): DatasetInput {
  return {
    slug,
    title: slug,
    problem: `Delivered by ${manifest.partner}; describe the medical problem before publishing.`,
    category: 'multiple-diagnostics',
    partners: [],
    authors: [],
    citation: { text: `${manifest.partner}. ${slug}.` },
    accessTier: 'approval',
    modalities: [],
    tags: [],
  };
}

/**
 * Keys from what the manifest says: a table whose patient (or study) id is unique is keyed by it;
 * every other table's patient_ngsci_id refers to the patients' table, and references to the
 * referenced table's study id.
 */
export function inferKeys(
  tables: readonly PublishedTable[],
): Map<string, { primaryKey: string[]; foreignKeys: ForeignKey[] }> {
  const primary = new Map<string, string[]>();
  for (const table of tables) {
    if (table.studyId !== null && table.studyUnique) {
      primary.set(table.name, [table.studyId]);
    } else if (table.studyId === null && table.patientUnique) {
      primary.set(table.name, ['patient_ngsci_id']);
    } else {
      primary.set(table.name, []);
    }
  }
  const patientsTable = tables.find(
    (t) => primary.get(t.name)?.join() === 'patient_ngsci_id',
  )?.name;
  const keys = new Map<string, { primaryKey: string[]; foreignKeys: ForeignKey[] }>();
  for (const table of tables) {
    const foreignKeys: ForeignKey[] = [];
    if (patientsTable !== undefined && patientsTable !== table.name) {
      foreignKeys.push({
        columns: ['patient_ngsci_id'],
        references: { table: patientsTable, columns: ['patient_ngsci_id'] },
      });
    }
    for (const reference of table.references) {
      const target = tables.find((t) => t.name === reference.table);
      const key = primary.get(reference.table) ?? [];
      if (target?.studyId !== null && target !== undefined && key.join() === target.studyId) {
        foreignKeys.push({
          columns: [target.studyId],
          references: { table: target.name, columns: [target.studyId] },
        });
      }
    }
    keys.set(table.name, { primaryKey: primary.get(table.name) ?? [], foreignKeys });
  }
  return keys;
}

/** A promise's outcome, kept to be taken later without an unhandled rejection meanwhile. */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/**
 * Counts stored files as new or repeated, in the delivery's order, as if they had been stored one
 * after another: a file repeats bytes that were in the store before the run (every report of its
 * key says so: the store only grows during a run) or that an earlier file of the run stored. Files
 * stored at once in several processes may see each other's objects in any order, so what each
 * store said cannot be taken alone.
 */
function countRepeats(reports: readonly { key: string; existed: boolean }[], counts: IngestCounts) {
  const before = new Map<string, boolean>();
  for (const { key, existed } of reports) {
    before.set(key, (before.get(key) ?? true) && existed);
  }
  const seen = new Set<string>();
  for (const { key } of reports) {
    if (seen.has(key) || before.get(key) === true) {
      counts.deduplicated += 1;
    } else {
      counts.stored += 1;
    }
    seen.add(key);
  }
}

/**
 * What a file is, by its first bytes (a NumPy archive is a ZIP named `.npz`); null when no
 * de-identifier reads it.
 */
function fileKindOf(head: Uint8Array, published: string): NativeFileKind | null {
  if (isDicom(head)) {
    return 'dicom';
  }
  if (isTiff(head)) {
    return 'slide';
  }
  if (looksLikeXml(head)) {
    return 'muse';
  }
  if (isNpy(head) || (isZip(head) && published.endsWith('.npz'))) {
    return 'numpy';
  }
  return isWfdbHeader(head) ? 'wfdb' : null;
}

/** An XML document's first bytes (a BOM, white space, then `<`). */
function looksLikeXml(head: Uint8Array): boolean {
  const text = Buffer.from(head)
    .toString('utf8')
    .replace(/^\uFEFF/u, '')
    .trimStart();
  return text.startsWith('<?xml') || text.startsWith('<');
}
