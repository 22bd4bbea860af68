import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuditBody, type AuditBody } from '@lantern/core/audit';
import { createLanternClient, type LanternClient } from '@lantern/sdk';
import pg from 'pg';
import { buildApp, type App } from '../app.js';
import { parseConfig, type Config } from '../config.js';
import { createContext, type AppContext } from '../context.js';
import { createLogger } from '../logging.js';

/**
 * The database the shared integration suite runs on: PGlite by default, PostgreSQL when
 * `LANTERN_TEST_DATABASE_URL` names a server (then each test server gets a fresh database on it).
 */
export const TEST_DATABASE_URL = process.env['LANTERN_TEST_DATABASE_URL'];
export const TEST_DIALECT = TEST_DATABASE_URL === undefined ? 'pglite' : 'postgres';

/** A running server on a free port, with an SDK client pointed at it. */
export interface TestServer {
  url: string;
  client: LanternClient;
  ctx: AppContext;
  app: App;
  /** The data directory (and the PostgreSQL database, if any): a restart passes them on. */
  dataDir: string;
  databaseUrl: string | undefined;
  /** Seals queued audit events now, so tests can read them. */
  flushAudit(): Promise<void>;
  /** The audit events of one request (after sealing), oldest first, as their parsed bodies. */
  auditEventsFor(requestId: string): Promise<(AuditBody & { seq: number })[]>;
  /** Stops the server; `keep` leaves its data directory and database for a restart. */
  close(options?: { keep?: boolean }): Promise<void>;
}

/** A restart: the data directory and database of a server closed with `keep`. */
export interface TestServerOptions {
  dataDir?: string;
  databaseUrl?: string | undefined;
  /** The instance service's clock (see ContextOverrides). */
  now?: () => Date;
  /**
   * The port to listen on (a free one by default): for a configuration that names the server's
   * own URL before it listens (LANTERN_SLURM_PLATFORM_URL).
   */
  port?: number;
}

async function createPostgresDatabase(
  adminUrl: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `lantern_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return existingPostgresDatabase(adminUrl, url.toString());
}

/** A test database made before (by a server since closed with `keep`), dropped by its name. */
function existingPostgresDatabase(
  adminUrl: string,
  databaseUrl: string,
): { url: string; drop: () => Promise<void> } {
  const name = new URL(databaseUrl).pathname.slice(1);
  return {
    url: databaseUrl,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Starts a server the way `lantern start` does, on the test database and a temporary data dir. */
export async function startTestServer(
  env: Record<string, string> = {},
  extend?: (fastify: App['fastify']) => void,
  options: TestServerOptions = {},
  prepare?: (ctx: AppContext) => void,
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'lantern-test-')));
  const pgdb =
    TEST_DATABASE_URL === undefined
      ? null
      : options.databaseUrl === undefined
        ? await createPostgresDatabase(TEST_DATABASE_URL)
        : existingPostgresDatabase(TEST_DATABASE_URL, options.databaseUrl);
  const config: Config = parseConfig({
    LANTERN_LOG_LEVEL: 'silent',
    LANTERN_AUDIT_SEAL_INTERVAL_MS: '50',
    ...(pgdb === null ? {} : { LANTERN_DATABASE_URL: pgdb.url }),
    ...env,
    LANTERN_DATA_DIR: dataDir,
    LANTERN_PORT: '0',
  });
  const ctx = await createContext(
    config,
    createLogger(config),
    options.now === undefined ? {} : { now: options.now },
  );
  prepare?.(ctx);
  const app = await buildApp(ctx);
  try {
    extend?.(app.fastify);
    await app.fastify.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  } catch (error) {
    await ctx.close();
    await pgdb?.drop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  ctx.sealer.start();
  ctx.mailer.start();
  ctx.instanceReconciler.start();
  const address = app.fastify.server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('test server has no TCP address');
  }
  const url = `http://127.0.0.1:${address.port}`;
  ctx.links.base = url;
  return {
    url,
    client: createLanternClient({ baseUrl: url }),
    ctx,
    app,
    dataDir,
    databaseUrl: pgdb?.url,
    flushAudit: () => ctx.sealer.flush(),
    async auditEventsFor(requestId) {
      await ctx.sealer.flush();
      const events = await ctx.services.audit.list({ limit: 100, requestId });
      return events.reverse().map((e) => ({ seq: e.seq, ...parseAuditBody(e.body) }));
    },
    async close(closing = {}) {
      await app.fastify.close();
      await ctx.close();
      if (closing.keep === true) {
        return;
      }
      await pgdb?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A TCP port free on the loopback now (the kernel's choice), for `TestServerOptions.port`. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') {
    throw new Error('the probe has no TCP address');
  }
  return address.port;
}
