import { sql, type Kysely } from 'kysely';

/**
 * Partner delegates (issue 7): the partners on whose behalf a person answers access requests to
 * approval-tier datasets, by partner name as datasets list them. Set by admins.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('delegate_partners', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
}
