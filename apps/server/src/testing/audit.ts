/**
 * An audit log that cannot be written, for the tests of "no answer without its audit record": a
 * trigger on `audit_inbox` makes the database refuse every event whose body holds `marker` (a
 * request id the test sends as X-Request-Id), as a full disk or a lost connection would refuse
 * them, while every other request's events are written as usual. Plain SQL that runs on PGlite and
 * PostgreSQL alike.
 */
import { sql } from 'kysely';
import type { TestServer } from './test-server.js';

const SAFE_MARKER = /^[A-Za-z0-9-]{8,64}$/u;

/**
 * Makes the database refuse audit events whose body contains `marker` until the returned function
 * is called.
 */
export async function refuseAuditEventsOf(
  server: TestServer,
  marker: string,
): Promise<() => Promise<void>> {
  if (!SAFE_MARKER.test(marker)) {
    throw new Error(`a marker is 8 to 64 letters, digits and dashes, not ${marker}`);
  }
  const name = `lantern_test_refuse_${marker.replaceAll('-', '_')}`;
  const db = server.ctx.database.db;
  await sql
    .raw(
      `create function ${name}() returns trigger language plpgsql as $$
       begin
         if position('${marker}' in new.body) > 0 then
           raise exception 'the audit log refuses this event (test marker ${marker})';
         end if;
         return new;
       end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger ${name} before insert on audit_inbox for each row execute function ${name}()`,
    )
    .execute(db);
  return async () => {
    await sql.raw(`drop trigger if exists ${name} on audit_inbox`).execute(db);
    await sql.raw(`drop function if exists ${name}()`).execute(db);
  };
}
