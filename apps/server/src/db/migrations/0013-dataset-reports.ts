import { sql, type Kysely } from 'kysely';

/**
 * Reports of problems in a dataset — an inconsistent name, a wrong description, a suspicious
 * value — on the dataset, a table or a column, from the page where a researcher saw it; curators
 * answer and close them, naming the version that fixes each.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('dataset_report')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('dataset.id'))
    .addColumn('version', 'text')
    .addColumn('table_name', 'text')
    .addColumn('column_name', 'text')
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('reporter_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('answer', 'text')
    .addColumn('answered_by', 'text')
    .addColumn('answered_at', 'timestamptz')
    .addColumn('fixed_in', 'text')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('dataset_report_status', sql`status in ('open', 'answered', 'closed')`)
    .execute();
  await sql`create index dataset_report_queue on dataset_report (status, created_at)`.execute(db);
  await sql`create index dataset_report_reporter on dataset_report (reporter_id, created_at desc)`.execute(
    db,
  );
}
