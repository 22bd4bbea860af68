import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import { redactUrl } from '../logging.js';
import { DataDirError } from './data-dir.js';
import { migrationProvider } from './migrations/index.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type DatabaseDialect = 'pglite' | 'postgres';

/** An open database with its migrations applied. */
export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: DatabaseDialect;
  /** Where it lives, safe to show (no password). */
  location: string;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** int8 as a JS number: ids and seqs stay far below 2^53, and both dialects then agree. */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`int8 value ${value} exceeds the safe integer range`);
  }
  return n;
}

/** pg's type parsers, with int8 as a number like PGlite's. */
const int8AsNumber: typeof pg.types.getTypeParser = (oid: number, format?: 'text' | 'binary') =>
  oid === INT8_OID
    ? parseInt8
    : (pg.types.getTypeParser(oid, format) as (value: string) => unknown);

/** Opens PostgreSQL when `databaseUrl` is set, otherwise PGlite in the data directory; migrates. */
export async function openDatabase(
  config: Pick<Config, 'dataDir' | 'databaseUrl'>,
): Promise<DatabaseHandle> {
  const handle =
    config.databaseUrl === undefined
      ? await openPGlite(join(config.dataDir, 'db'))
      : openPostgres(config.databaseUrl);
  try {
    await migrate(handle.db);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  return handle;
}

async function openPGlite(dir: string): Promise<DatabaseHandle> {
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dir, { parsers: { [INT8_OID]: parseInt8 } });
    await pglite.query('select 1');
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new DataDirError(
      `database in ${dir} cannot be opened (${reason ?? 'unknown error'}); it is corrupt or from another version — restore it from a backup, or move it aside to start empty`,
    );
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return { db, dialect: 'pglite', location: dir, close: () => db.destroy() };
}

/**
 * A PostgreSQL pool whose int8 values arrive as numbers, as PGlite's do. Exported for tools that
 * need more connections than the server's pool (the audit benchmark's 32 writers).
 */
export function createPostgresPool(url: string, max = 16): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types: { getTypeParser: int8AsNumber } });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

function openPostgres(url: string): DatabaseHandle {
  const pool = createPostgresPool(url);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', location: redactUrl(url), close: () => db.destroy() };
}

async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
}

/** A cheap round trip, for health checks. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
