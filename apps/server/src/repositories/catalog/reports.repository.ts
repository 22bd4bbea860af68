import type { Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { Database, DatasetReportTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A report with the dataset's slug and the reporter's name. */
export type ReportRow = Selectable<DatasetReportTable> & {
  slug: string;
  reporter_name: string;
  reporter_email: string;
};

/** Reports with their dataset's slug and reporter. */
const withNames = (executor: Executor) =>
  executor
    .selectFrom('dataset_report')
    .innerJoin('dataset', 'dataset.id', 'dataset_report.dataset_id')
    .innerJoin('users', 'users.id', 'dataset_report.reporter_id')
    .selectAll('dataset_report')
    .select(['dataset.slug', 'users.name as reporter_name', 'users.email as reporter_email']);

/** SQL of reports: filed by readers, answered and closed by curators. */
export const reportsRepository = {
  async insert(executor: Executor, row: Insertable<DatasetReportTable>): Promise<void> {
    await executor.insertInto('dataset_report').values(row).execute();
  },

  async list(
    executor: Executor,
    filter: {
      status?: 'open' | 'answered' | 'closed' | undefined;
      reporterId?: string | undefined;
      datasetId?: string | undefined;
      fixedIn?: string | undefined;
      limit: number;
    },
  ): Promise<ReportRow[]> {
    let query = withNames(executor)
      .orderBy('dataset_report.created_at', filter.status === 'open' ? 'asc' : 'desc')
      .orderBy('dataset_report.id')
      .limit(filter.limit);
    if (filter.status !== undefined) {
      query = query.where('dataset_report.status', '=', filter.status);
    }
    if (filter.reporterId !== undefined) {
      query = query.where('dataset_report.reporter_id', '=', filter.reporterId);
    }
    if (filter.datasetId !== undefined) {
      query = query.where('dataset_report.dataset_id', '=', filter.datasetId);
    }
    if (filter.fixedIn !== undefined) {
      query = query.where('dataset_report.fixed_in', '=', filter.fixedIn);
    }
    return query.execute();
  },

  async get(executor: Executor, id: string): Promise<ReportRow | undefined> {
    return withNames(executor).where('dataset_report.id', '=', id).executeTakeFirst();
  },

  async getForUpdate(trx: Transaction<Database>, id: string): Promise<ReportRow | undefined> {
    return withNames(trx)
      .where('dataset_report.id', '=', id)
      .forUpdate('dataset_report')
      .executeTakeFirst();
  },

  async update(
    executor: Executor,
    id: string,
    changes: Updateable<DatasetReportTable>,
  ): Promise<void> {
    await executor.updateTable('dataset_report').set(changes).where('id', '=', id).execute();
  },
};
