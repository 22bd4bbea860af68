import { sql, type Kysely } from 'kysely';

/**
 * The audit log: a queue that writers append to, and the append-only hash chain it is sealed into.
 * An event is its body (canonical JSON); the columns the feeds' indexes need (actor, project) are
 * generated from the body, so they always say what was hashed. Each generated column costs the
 * sealer a JSON parse per event, so only indexed ones are generated; other filters read the body.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_inbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('queued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  const field = (name: string) =>
    sql.raw(`generated always as ((body::jsonb) ->> '${name}') stored`);
  await db.schema
    .createTable('audit_event')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('sealed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (c) => c.modifyEnd(field('actor')))
    .addColumn('project_id', 'text', (c) => c.modifyEnd(field('projectId')))
    .execute();

  await db.schema
    .createIndex('audit_event_project_seq')
    .on('audit_event')
    .columns(['project_id', 'seq'])
    .execute();
  await db.schema
    .createIndex('audit_event_actor_seq')
    .on('audit_event')
    .columns(['actor', 'seq'])
    .execute();

  // Append-only: the database itself refuses to change or remove a sealed event. (Someone with
  // enough privileges can drop the trigger; that is what `lantern audit verify` is for.)
  await sql`
    create function audit_event_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_event is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger audit_event_no_change before update or delete on audit_event
    for each row execute function audit_event_append_only()`.execute(db);
  await sql`
    create trigger audit_event_no_truncate before truncate on audit_event
    for each statement execute function audit_event_append_only()`.execute(db);
}
