import { randomBytes } from 'node:crypto';
import { AppError } from '@lantern/core';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { catalogRepository } from '../../repositories/catalog/catalog.repository.js';
import {
  reportsRepository,
  type ReportRow,
} from '../../repositories/catalog/reports.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';

/** A report as reporters and curators see it. */
export interface ReportView {
  id: string;
  dataset: string;
  version: string | null;
  table: string | null;
  column: string | null;
  text: string;
  reporter: { name: string } & { email?: string };
  status: 'open' | 'answered' | 'closed';
  answer: string | null;
  answeredAt: string | null;
  fixedIn: string | null;
  closedAt: string | null;
  createdAt: string;
}

/**
 * Reports of inconsistencies: any admitted reader files one on a dataset, a table or a column;
 * curators work the queue, answer, and close each with the published version that fixes it (the
 * version page lists the reports it fixed). The reporter is emailed at each answer.
 */
export class ReportsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
    private readonly links: { base: string },
  ) {}

  async file(
    reporterId: string,
    slug: string,
    input: {
      version?: string | undefined;
      table?: string | undefined;
      column?: string | undefined;
      text: string;
    },
  ): Promise<ReportView> {
    const id = `rep_${randomBytes(8).toString('hex')}`;
    await this.db.transaction().execute(async (trx) => {
      const dataset = await catalogRepository.bySlug(trx, slug);
      const version =
        dataset === undefined || input.version === undefined
          ? undefined
          : await catalogRepository.version(trx, dataset.id, input.version);
      // Reports are on what readers can see: published datasets and versions.
      if (
        dataset === undefined ||
        (await catalogRepository.latestPublished(trx, dataset.id)) === undefined
      ) {
        throw new AppError('not_found', `there is no dataset ${slug}`);
      }
      if (input.version !== undefined && version === undefined) {
        throw new AppError('not_found', `${slug} has no version ${input.version}`);
      }
      if (input.column !== undefined && input.table === undefined) {
        throw new AppError('validation_failed', 'name the table of the column', {
          errors: [{ path: 'body.table', message: 'required with a column' }],
        });
      }
      const tables = (version ?? (await catalogRepository.latestPublished(trx, dataset.id)))
        ?.snapshot.tables;
      const table = tables?.find((t) => t.name === input.table);
      if (input.table !== undefined && table === undefined) {
        throw new AppError('not_found', `${slug} has no table ${input.table}`);
      }
      if (input.column !== undefined && !table?.columns.some((c) => c.name === input.column)) {
        throw new AppError('not_found', `${input.table} has no column ${input.column}`);
      }
      await reportsRepository.insert(trx, {
        id,
        dataset_id: dataset.id,
        version: input.version ?? null,
        table_name: input.table ?? null,
        column_name: input.column ?? null,
        text: input.text,
        reporter_id: reporterId,
      });
      await this.audit.record(trx, {
        action: 'catalog.report',
        target: `dataset:${slug}`,
        details: { report: id, table: input.table ?? null, column: input.column ?? null },
      });
    });
    return this.view(id);
  }

  /** The reporter's own reports, newest first. */
  async mine(reporterId: string): Promise<ReportView[]> {
    const rows = await reportsRepository.list(this.db, { reporterId, limit: 200 });
    return rows.map((row) => present(row, false));
  }

  /** The curators' queue: open reports oldest first, others newest first. */
  async queue(status: 'open' | 'answered' | 'closed', limit: number): Promise<ReportView[]> {
    const rows = await reportsRepository.list(this.db, { status, limit });
    return rows.map((row) => present(row, true));
  }

  /** The reports a published version fixed, for its page (without who reported them). */
  async fixedIn(
    slug: string,
    version: string,
  ): Promise<Pick<ReportView, 'id' | 'table' | 'column' | 'text' | 'answer' | 'closedAt'>[]> {
    const dataset = await catalogRepository.bySlug(this.db, slug);
    if (dataset === undefined) {
      return [];
    }
    const rows = await reportsRepository.list(this.db, {
      datasetId: dataset.id,
      fixedIn: version,
      limit: 500,
    });
    return rows.map((row) => {
      const { id, table, column, text, answer, closedAt } = present(row, false);
      return { id, table, column, text, answer, closedAt };
    });
  }

  /**
   * Answers a report; with `fixedIn` (a published version of its dataset) it is closed as fixed
   * there, and with `close` without a version it is closed as answered (not a problem, or not
   * one to fix). The reporter is told either way.
   */
  async answer(
    curatorId: string,
    id: string,
    input: { answer: string; fixedIn?: string | undefined; close: boolean },
  ): Promise<ReportView> {
    await this.db.transaction().execute(async (trx) => {
      const row = await reportsRepository.getForUpdate(trx, id);
      if (row === undefined) {
        throw new AppError('not_found', 'no such report');
      }
      if (row.status === 'closed') {
        throw new AppError('conflict', 'this report is closed already');
      }
      if (input.fixedIn !== undefined) {
        const version = await catalogRepository.version(trx, row.dataset_id, input.fixedIn);
        if (version === undefined || version.status === 'draft') {
          throw new AppError(
            'validation_failed',
            `${row.slug} has no published version ${input.fixedIn}; publish the fix first`,
            { errors: [{ path: 'body.fixedIn', message: 'not a published version' }] },
          );
        }
      }
      const now = new Date();
      const closing = input.close || input.fixedIn !== undefined;
      await reportsRepository.update(trx, id, {
        status: closing ? 'closed' : 'answered',
        answer: input.answer,
        answered_by: `user:${curatorId}`,
        answered_at: now,
        fixed_in: input.fixedIn ?? null,
        closed_at: closing ? now : null,
      });
      const where = [row.table_name, row.column_name].filter((part) => part !== null).join('.');
      await this.email.queue(trx, {
        kind: 'catalog.report_answered',
        to: row.reporter_email,
        subject: `Your report on ${row.slug}${input.fixedIn === undefined ? ' was answered' : ` is fixed in ${input.fixedIn}`}`,
        text: `Hello ${row.reporter_name},\n\nyou reported on ${row.slug}${where === '' ? '' : ` (${where})`}: "${row.text}"\n\nThe curators answered: ${input.answer}${input.fixedIn === undefined ? '' : `\n\nIt is fixed in version ${input.fixedIn}: ${this.links.base}/datasets/${row.slug}/versions/${input.fixedIn}`}\n`,
      });
      await this.audit.record(trx, {
        action: closing ? 'catalog.close_report' : 'catalog.answer_report',
        target: `dataset:${row.slug}`,
        details: { report: id, fixedIn: input.fixedIn ?? null },
      });
    });
    return this.view(id);
  }

  private async view(id: string): Promise<ReportView> {
    const row = await reportsRepository.get(this.db, id);
    if (row === undefined) {
      throw new AppError('not_found', 'no such report');
    }
    return present(row, true);
  }
}

function present(row: ReportRow, withEmail: boolean): ReportView {
  return {
    id: row.id,
    dataset: row.slug,
    version: row.version,
    table: row.table_name,
    column: row.column_name,
    text: row.text,
    reporter: withEmail
      ? { name: row.reporter_name, email: row.reporter_email }
      : { name: row.reporter_name },
    status: row.status,
    answer: row.answer,
    answeredAt: row.answered_at?.toISOString() ?? null,
    fixedIn: row.fixed_in,
    closedAt: row.closed_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}
