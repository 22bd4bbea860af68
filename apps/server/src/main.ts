#!/usr/bin/env node
/**
 * The server's entry point. `lantern` (apps/cli) runs it for the commands that act on a local data
 * directory: `start`, `audit-verify`, `ingest`, `openapi`. Exit codes: 0 ok, 1 failure found (a
 * broken chain, a refused delivery), 2 cannot run.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultWorkerCount } from '@lantern/synth';
import { buildApp } from './app.js';
import { ingestCommand } from './commands/ingest.command.js';
import { ConfigError, loadConfig, type Config, type ConfigFlags } from './config.js';
import { createContext, startBackgroundWork } from './context.js';
import { DataDirError, lockDataDir, prepareDataDir } from './db/data-dir.js';
import { openDatabase } from './db/database.js';
import { createLogger } from './logging.js';
import { AuditService } from './services/audit/audit.service.js';
import { seedDemoCatalogue } from './services/ingest/demo-catalogue.js';
import { ObjectStoreError } from './storage/object-store.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function start(config: Config): Promise<void> {
  const logger = createLogger(config);
  await prepareDataDir(config.dataDir);
  const lock = await lockDataDir(config.dataDir, 'lantern start');
  let ctx;
  try {
    ctx = await createContext(config, logger);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const { fastify } = await buildApp(ctx);
  const context = ctx;

  let closing = false;
  let demoSeeding: Promise<void> = Promise.resolve();
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) {
      return;
    }
    closing = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      await fastify.close();
      await demoSeeding;
      await context.close();
    } finally {
      await lock.release();
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await fastify.listen({ host: config.host, port: config.port });
  } catch (error) {
    await context.close();
    await lock.release();
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new DataDirError(
        `cannot listen on ${config.host}:${config.port} (${code}); choose another with --port or --host`,
      );
    }
    throw error;
  }
  startBackgroundWork(ctx);
  const address = fastify.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const baseUrl = config.publicUrl ?? `http://${host}:${port}`;
  ctx.links.base = baseUrl;
  out(`Lantern ${ctx.version} is running at ${baseUrl}/`);
  out(`  data directory: ${config.dataDir}`);
  out(`  database: ${ctx.database.dialect} (${ctx.database.location})`);
  out(`  objects: ${ctx.objectStore.kind} (${ctx.objectStore.location})`);
  const setup = await ctx.services.identity.ensureFirstAdmin();
  if (setup !== null) {
    out(`  first admin: ${setup.email} has no password yet; set it within 24 hours at`);
    out(`    ${baseUrl}/set-password#token=${setup.secret}`);
    out('    (the link works once; until a password is set, each start prints a new one)');
  }
  if (config.demo && (await ctx.services.catalog.list(true, {})).length === 0) {
    out('  demo catalogue: generating, ingesting and publishing the four synthetic datasets in');
    out('    the background (a minute or two; --no-demo or LANTERN_DEMO=off skips it)');
    demoSeeding = seedDemoCatalogue(ctx.services, {
      scale: config.demoScale,
      workers: defaultWorkerCount(),
      stopping: () => closing,
      onProgress: (event) =>
        event.error === undefined
          ? logger.info(event, 'demo dataset published')
          : logger.error(event, 'demo dataset not published'),
    }).then(
      (versions) => logger.info({ versions }, 'demo catalogue ready'),
      (error: unknown) => logger.error({ err: error }, 'demo catalogue failed'),
    );
  }
  out('  stop with Ctrl-C');
}

async function auditVerify(config: Config): Promise<number> {
  let release = (): Promise<void> => Promise.resolve();
  if (config.databaseUrl === undefined) {
    const exists = await stat(join(config.dataDir, 'db')).then(
      () => true,
      () => false,
    );
    if (!exists) {
      throw new DataDirError(
        `no Lantern database in ${config.dataDir}; pass the data directory with --data-dir`,
      );
    }
    const lock = await lockDataDir(config.dataDir, 'lantern audit verify');
    release = () => lock.release();
  }
  try {
    const database = await openDatabase(config);
    try {
      const audit = new AuditService(database.db);
      // Events still queued (e.g. after a crash) join the chain first, so they are verified too.
      await audit.sealAll();
      const started = performance.now();
      const result = await audit.verify((checked) => {
        if (process.stderr.isTTY) {
          process.stderr.write(`\rverified ${checked} events…`);
        }
      });
      if (process.stderr.isTTY) {
        process.stderr.write('\r\x1b[K');
      }
      const seconds = (performance.now() - started) / 1000;
      if (result.ok) {
        out(
          `audit chain ok: ${result.checked} events, head seq ${result.head.seq} (${result.head.hash.slice(0, 16)}…), verified in ${seconds.toFixed(2)} s`,
        );
        return 0;
      }
      out(`audit chain BROKEN at seq ${result.fault.seq}: ${result.fault.detail}`);
      out(`  ${result.checked} events before it verified intact`);
      return 1;
    } finally {
      await database.close();
    }
  } finally {
    await release();
  }
}

async function emitOpenapi(config: Config): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lantern-openapi-'));
  try {
    const ctx = await createContext(
      { ...config, dataDir: dir, databaseUrl: undefined, logLevel: 'silent' },
      createLogger({ logLevel: 'silent' }),
    );
    try {
      const { fastify } = await buildApp(ctx);
      await fastify.ready();
      out(JSON.stringify(fastify.swagger(), null, 2));
      await fastify.close();
    } finally {
      await ctx.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const USAGE = `usage: lantern-server <start|audit-verify|ingest DIR|openapi> [--data-dir DIR] [--port N] [--host H] [--no-demo] [--json]`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'no-demo': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const flags: ConfigFlags = {
    dataDir: values['data-dir'],
    port: values.port,
    host: values.host,
    ...(values['no-demo'] === true ? { demo: false } : {}),
  };
  const config = loadConfig(flags);
  switch (positionals[0]) {
    case 'start':
      await start(config);
      return -1;
    case 'audit-verify':
      return auditVerify(config);
    case 'ingest':
      return ingestCommand(config, positionals[1], { json: values.json === true });
    case 'openapi':
      await emitOpenapi(config);
      return 0;
    case undefined:
    default:
      err(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) {
      process.exitCode = code;
    }
  },
  (error: unknown) => {
    if (
      error instanceof ConfigError ||
      error instanceof DataDirError ||
      error instanceof ObjectStoreError
    ) {
      err(`lantern: ${error.message}`);
    } else if (
      error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS')
    ) {
      err(`lantern: ${error.message}\n${USAGE}`);
    } else {
      err(`lantern: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    process.exitCode = 2;
  },
);
