import { sql, type Kysely } from 'kysely';

/** What kinds of data a dataset holds (ECG, X-ray, slide microscopy …), for the catalog filter. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('dataset')
    .addColumn('modalities', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
}
