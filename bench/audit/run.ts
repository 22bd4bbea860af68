/**
 * Audit log benchmark.
 *
 * Measures, on PostgreSQL and in one process, appends per second with 1 and 32 concurrent writers
 * for the chained audit log (insert into the inbox + the sealer linking it onto the hash chain)
 * side by side with plain inserts of the same rows into an unchained table; then chain
 * verification in events per second. Targets (from the issue): chained at 32 writers >= 0.8x
 * plain, verification >= 400,000 events/s. It is a measurement: it exits 0 whether or not the
 * targets are met, non-zero only on errors.
 *
 *   node --conditions=lantern-source --import tsx bench/audit/run.ts [--seconds 5] [--rounds 1]
 *     [--warmup 1] [--seal-interval-ms 200] [--verify-events 200000] [--pool 40]
 *     [--out bench/out/audit.json]
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { encodeAuditBody, type AuditEventInput } from '@lantern/core/audit';
import { Kysely, PostgresDialect, sql, type Insertable } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { createPostgresPool, openDatabase } from '../../apps/server/src/db/database.js';
import type { AuditInboxTable, Database } from '../../apps/server/src/db/schema.js';
import { AuditSealer } from '../../apps/server/src/jobs/audit-sealer.js';
import { auditRepository } from '../../apps/server/src/repositories/audit/audit.repository.js';
import {
  AuditService,
  type AuditRecord,
} from '../../apps/server/src/services/audit/audit.service.js';

const execFileAsync = promisify(execFile);

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const PG_THROWAWAY = join(REPO_ROOT, 'scripts/pg-throwaway.sh');

const WRITER_COUNTS = [1, 32] as const;
const TARGET_CHAINED_RATIO = 0.8;
const TARGET_VERIFY_PER_SEC = 400_000;
/** Timed verification passes; the median is reported. */
const VERIFY_PASSES = 5;
/** Rows per insert when seeding the chain for verification (9 params a row, well under 65,535). */
const SEED_BATCH = 1000;
/** What AuditService fills in for an event recorded outside a request (the bench has none). */
const SYSTEM_ACTOR = 'system:lantern';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  sealIntervalMs: number;
  verifyEvents: number;
  poolMax: number;
  outFile: string;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seconds: { type: 'string', default: '5' },
      // Each round runs every variant once; more rounds (medians) steady a noisy machine.
      rounds: { type: 'string', default: '1' },
      warmup: { type: 'string', default: '1' },
      // The server's default LANTERN_AUDIT_SEAL_INTERVAL_MS.
      'seal-interval-ms': { type: 'string', default: '200' },
      'verify-events': { type: 'string', default: '200000' },
      pool: { type: 'string', default: '40' },
      out: { type: 'string', default: join(REPO_ROOT, 'bench/out/audit.json') },
    },
    strict: true,
  });
  const options: Options = {
    seconds: positiveNumber('--seconds', values.seconds),
    rounds: Math.ceil(positiveNumber('--rounds', values.rounds)),
    warmupSeconds: positiveNumber('--warmup', values.warmup, true),
    sealIntervalMs: positiveNumber('--seal-interval-ms', values['seal-interval-ms']),
    verifyEvents: positiveNumber('--verify-events', values['verify-events']),
    poolMax: positiveNumber('--pool', values.pool),
    outFile: resolve(values.out),
  };
  const maxWriters = Math.max(...WRITER_COUNTS);
  // Every writer holds a connection for its transaction and the sealer needs one more; fewer
  // would measure waiting for the pool rather than the database.
  if (options.poolMax < maxWriters + 1) {
    throw new Error(
      `--pool must be at least ${maxWriters + 1} (${maxWriters} writers + the sealer)`,
    );
  }
  return options;
}

function positiveNumber(name: string, text: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(text)}`);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a server (given or throwaway) and a fresh database on it

interface PostgresServer {
  adminUrl: string;
  origin: 'LANTERN_DATABASE_URL' | 'pg-throwaway';
  release(): Promise<void>;
}

/** Cleanup to run if the process is interrupted, since `finally` blocks do not run on signals. */
const onInterrupt: (() => void)[] = [];

async function acquirePostgres(): Promise<PostgresServer> {
  const given = process.env['LANTERN_DATABASE_URL'];
  if (given !== undefined && given !== '') {
    return { adminUrl: given, origin: 'LANTERN_DATABASE_URL', release: () => Promise.resolve() };
  }
  const { stdout } = await execFileAsync(PG_THROWAWAY, ['start']);
  const dir = /LANTERN_PG_DIR=(\S+)/.exec(stdout)?.[1];
  const url = /LANTERN_TEST_DATABASE_URL=(\S+)/.exec(stdout)?.[1];
  if (dir === undefined || url === undefined) {
    throw new Error(`unexpected output from ${PG_THROWAWAY} start: ${stdout}`);
  }
  const stopSync = (): void => {
    execFileSync(PG_THROWAWAY, ['stop', dir], { stdio: 'ignore' });
  };
  onInterrupt.push(stopSync);
  return {
    adminUrl: url,
    origin: 'pg-throwaway',
    release: async () => {
      onInterrupt.splice(onInterrupt.indexOf(stopSync), 1);
      await execFileAsync(PG_THROWAWAY, ['stop', dir]);
    },
  };
}

interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database, so earlier runs' rows (table and index sizes) do not skew this one. */
async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE: a pool that failed to close must not keep the database alive.
    drop: () =>
      withAdminClient(adminUrl, (client) =>
        client.query(`drop database if exists ${name} with (force)`),
      ),
  };
}

async function withAdminClient(
  url: string,
  fn: (client: pg.Client) => Promise<unknown>,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * The bench's own Kysely: openDatabase's pool has max 16, which would cap 32 writers at 16
 * connections. Same int8 parser as openDatabase, so the services see the same values.
 */
function createKysely(url: string, max: number): Kysely<Database> {
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: createPostgresPool(url, max) }),
  });
}

/** openDatabase runs the server's migrations; the bench only needs it for that. */
async function migrate(url: string): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lantern-bench-'));
  try {
    const handle = await openDatabase({ dataDir, databaseUrl: url });
    await handle.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The unchained peer: audit_inbox's columns, its bigserial key and no other index. */
async function createPlainTable(db: Kysely<Database>): Promise<void> {
  // LIKE copies the columns, types, NOT NULLs and defaults; its own id sequence and the key come after.
  await sql`create table audit_plain (like audit_inbox including defaults)`.execute(db);
  await sql`create sequence audit_plain_id_seq owned by audit_plain.id`.execute(db);
  await sql`alter table audit_plain alter column id set default nextval('audit_plain_id_seq')`.execute(
    db,
  );
  await sql`alter table audit_plain add primary key (id)`.execute(db);
}

// ---------------------------------------------------------------------------------------------
// The rows both variants write

/** What a request in a write handler would record; varies per writer and write. */
function recordFor(worker: number, n: number): AuditRecord {
  return {
    action: 'project.file.write',
    target: `file:f_${worker}_${n}`,
    projectId: `p_${worker}`,
    details: { path: `/data/run-${n}/table.parquet`, bytes: 1_048_576 + n, worker },
  };
}

/**
 * The event AuditService.record makes of `record` outside a request context (AuditService.complete
 * is private), so that the plain peer and the seeding write the same events as the chained writers.
 */
function complete(record: AuditRecord): AuditEventInput {
  return {
    time: new Date(),
    actor: SYSTEM_ACTOR,
    action: record.action,
    target: record.target ?? null,
    projectId: record.projectId ?? null,
    clientIp: null,
    requestId: null,
    outcome: record.outcome ?? 'allowed',
    details: record.details,
  };
}

/** The row AuditService.record inserts for `event`: its canonical body. */
function inboxRow(event: AuditEventInput): Insertable<AuditInboxTable> {
  return { body: encodeAuditBody(event) };
}

// ---------------------------------------------------------------------------------------------
// Writers

type WriteOne = (worker: number, n: number) => Promise<unknown>;

interface WriterRun {
  events: number;
  /** From the first write's start to the last writer's end. */
  seconds: number;
}

/**
 * `writers` concurrent loops, each doing one write after the other, like requests would, until
 * `seconds` have passed. A write started before the deadline is finished and counted.
 */
async function runWriters(
  writers: number,
  seconds: number,
  writeOne: WriteOne,
): Promise<WriterRun> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const counts = await Promise.all(
    Array.from({ length: writers }, async (_, worker) => {
      let n = 0;
      while (performance.now() < deadline) {
        await writeOne(worker, n);
        n += 1;
      }
      return n;
    }),
  );
  return {
    events: counts.reduce((a, b) => a + b, 0),
    seconds: (performance.now() - started) / 1000,
  };
}

interface PlainResult {
  events: number;
  seconds: number;
  perSec: number;
}

interface ChainedResult extends PlainResult {
  /** How long the writers ran. */
  writeSeconds: number;
  /** How long sealing the rest took once the writers stopped (part of `seconds`). */
  drainSeconds: number;
}

async function measurePlain(
  db: Kysely<Database>,
  writers: number,
  seconds: number,
): Promise<PlainResult> {
  const plain = db.withTables<{ audit_plain: AuditInboxTable }>();
  const run = await runWriters(writers, seconds, (worker, n) =>
    plain.transaction().execute((trx) =>
      trx
        .insertInto('audit_plain')
        .values(inboxRow(complete(recordFor(worker, n))))
        .execute(),
    ),
  );
  return { ...run, perSec: run.events / run.seconds };
}

/**
 * Chained appends: writers queue events in their own transactions while the production sealer
 * (AuditSealer, on its interval) links them onto the chain. An event counts as appended once it
 * is sealed, so the clock stops when the writers have stopped and the inbox is drained.
 */
async function measureChained(
  db: Kysely<Database>,
  audit: AuditService,
  writers: number,
  seconds: number,
  sealIntervalMs: number,
): Promise<ChainedResult> {
  const headBefore = (await audit.status()).head?.seq ?? 0;
  const sealer = new AuditSealer(audit, pino({ level: 'warn' }), sealIntervalMs);
  const started = performance.now();
  sealer.start();
  let writersDone = started;
  let run: WriterRun;
  try {
    run = await runWriters(writers, seconds, (worker, n) =>
      db.transaction().execute((trx) => audit.record(trx, recordFor(worker, n))),
    );
  } finally {
    writersDone = performance.now();
    // stop() waits for a sealing in progress, then seals everything still queued (it logs rather
    // than throws, so a writer's error is the one that propagates).
    await sealer.stop();
  }
  const drained = performance.now();

  // The sealer logs (rather than throws) its failures; check that every event made the chain.
  const after = await audit.status();
  const sealed = (after.head?.seq ?? 0) - headBefore;
  if (after.pending !== 0 || sealed !== run.events) {
    throw new Error(
      `chained run: ${run.events} events written, ${sealed} sealed, ${after.pending} still queued`,
    );
  }
  const totalSeconds = (drained - started) / 1000;
  return {
    events: run.events,
    seconds: totalSeconds,
    perSec: run.events / totalSeconds,
    writeSeconds: (writersDone - started) / 1000,
    drainSeconds: (drained - writersDone) / 1000,
  };
}

/** One plain run and the chained run right after it. */
interface WriteComparison {
  writers: number;
  plain: PlainResult;
  chained: ChainedResult;
  /** chained/s divided by plain/s. */
  ratio: number;
}

/** A writer count over all rounds: medians, and the runs they come from. */
interface WriteSummary {
  writers: number;
  plainPerSec: number;
  chainedPerSec: number;
  /** Median of the rounds' ratios: each round's pair ran back to back, so drift cancels out. */
  ratio: number;
  maxDrainSeconds: number;
  rounds: WriteComparison[];
}

/**
 * Plain and chained alternately per writer count (plain 1, chained 1, plain 32, chained 32, then
 * again per round), so drift (autovacuum, caches, other load) hits both alike.
 */
async function compareWrites(
  db: Kysely<Database>,
  audit: AuditService,
  options: Options,
): Promise<WriteSummary[]> {
  if (options.warmupSeconds > 0) {
    // JIT, pool connections (all 32 + the sealer's), PostgreSQL's caches; results discarded.
    const maxWriters = Math.max(...WRITER_COUNTS);
    await measurePlain(db, maxWriters, options.warmupSeconds);
    await measureChained(db, audit, maxWriters, options.warmupSeconds, options.sealIntervalMs);
  }
  const comparisons: WriteComparison[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const writers of WRITER_COUNTS) {
      const label = `round ${round}/${options.rounds}, ${writers} writer(s), ${options.seconds} s`;
      log(`writes: plain, ${label}`);
      const plain = await measurePlain(db, writers, options.seconds);
      log(`writes: chained, ${label}`);
      const chained = await measureChained(
        db,
        audit,
        writers,
        options.seconds,
        options.sealIntervalMs,
      );
      comparisons.push({ writers, plain, chained, ratio: chained.perSec / plain.perSec });
    }
  }
  return WRITER_COUNTS.map((writers) =>
    summarize(
      writers,
      comparisons.filter((c) => c.writers === writers),
    ),
  );
}

function summarize(writers: number, rounds: WriteComparison[]): WriteSummary {
  return {
    writers,
    plainPerSec: median(rounds.map((r) => r.plain.perSec)),
    chainedPerSec: median(rounds.map((r) => r.chained.perSec)),
    ratio: median(rounds.map((r) => r.ratio)),
    maxDrainSeconds: Math.max(...rounds.map((r) => r.chained.drainSeconds)),
    rounds,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

// ---------------------------------------------------------------------------------------------
// Verification

interface VerifyResult {
  events: number;
  seconds: number;
  perSec: number;
  ratioToTarget: number;
  ok: boolean;
  /** Seconds of each timed pass; the result is their median. */
  passes: number[];
}

/** Brings the chain to at least `target` events; not timed (seeding is not what is measured). */
async function seedChain(
  db: Kysely<Database>,
  audit: AuditService,
  target: number,
): Promise<number> {
  let length = (await audit.status()).head?.seq ?? 0;
  let n = 0;
  while (length < target) {
    const batch = Math.min(SEED_BATCH * 10, target - length);
    for (let done = 0; done < batch; done += SEED_BATCH) {
      const size = Math.min(SEED_BATCH, batch - done);
      await auditRepository.enqueue(
        db,
        Array.from({ length: size }, () => encodeAuditBody(complete(recordFor(n % 32, n++)))),
      );
    }
    // Sealing as we go keeps the inbox (and the sealer's claim query) small.
    length += await audit.sealAll();
  }
  return length;
}

async function measureVerification(
  db: Kysely<Database>,
  audit: AuditService,
  minEvents: number,
): Promise<VerifyResult> {
  log(`verification: seeding the chain to ${minEvents.toLocaleString('en-US')} events (not timed)`);
  const length = await seedChain(db, audit, minEvents);
  // A settled table, as a log being verified is: VACUUM now rather than autovacuum during a timed
  // pass. One untimed pass warms the JIT and PostgreSQL's buffers; then the median of timed passes.
  await sql`vacuum (analyze) audit_event`.execute(db);
  log(`verification: warm-up pass over ${length.toLocaleString('en-US')} events`);
  await audit.verify();
  const passes: number[] = [];
  let verdict = await audit.verify();
  for (let pass = 0; pass < VERIFY_PASSES; pass += 1) {
    log(`verification: timed audit.verify(), pass ${pass + 1}/${VERIFY_PASSES}`);
    const t = performance.now();
    verdict = await audit.verify();
    passes.push((performance.now() - t) / 1000);
    if (!verdict.ok) {
      throw new Error(`verification failed: ${JSON.stringify(verdict.fault)}`);
    }
    if (verdict.checked !== length) {
      throw new Error(`verification checked ${verdict.checked} events, the chain has ${length}`);
    }
  }
  const seconds = median(passes);
  const perSec = verdict.checked / seconds;
  return {
    events: verdict.checked,
    seconds,
    perSec,
    ratioToTarget: perSec / TARGET_VERIFY_PER_SEC,
    ok: verdict.ok,
    passes,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

interface Report {
  startedAt: string;
  environment: {
    node: string;
    cpus: number;
    cpuModel: string;
    postgres: string;
    postgresOrigin: string;
  };
  options: Omit<Options, 'outFile'>;
  writes: WriteSummary[];
  verification: VerifyResult;
  targets: {
    chainedRatioAt32: { target: number; actual: number; pass: boolean };
    verifyPerSec: { target: number; actual: number; ratio: number; pass: boolean };
  };
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const passFail = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');

function printReport(report: Report): void {
  const { writes, verification: v, targets } = report;
  const lines = [
    '',
    `Audit log benchmark: PostgreSQL ${report.environment.postgres} (${report.environment.postgresOrigin}), ` +
      `Node ${report.environment.node}, ${report.environment.cpus} CPU(s)`,
    `${report.options.seconds} s per run, ${report.options.rounds} round(s) (medians), ` +
      `sealer every ${report.options.sealIntervalMs} ms, pool ${report.options.poolMax}`,
    '',
    `${'writers'.padStart(7)}  ${'plain/s'.padStart(10)}  ${'chained/s'.padStart(10)}  ${'ratio'.padStart(6)}  ${'drain'.padStart(7)}`,
    ...writes.map(
      (w) =>
        `${String(w.writers).padStart(7)}  ${fmt(w.plainPerSec).padStart(10)}  ${fmt(w.chainedPerSec).padStart(10)}  ` +
        `${fmt(w.ratio, 2).padStart(6)}  ${`${fmt(w.maxDrainSeconds * 1000)} ms`.padStart(7)}`,
    ),
    '(drain: sealing what was still queued once the writers stopped; part of chained/s)',
    '',
    `chained/plain at 32 writers: ${fmt(targets.chainedRatioAt32.actual, 2)}x ` +
      `(target >= ${fmt(TARGET_CHAINED_RATIO, 2)}x)  ${passFail(targets.chainedRatioAt32.pass)}`,
    `verification: ${fmt(v.perSec)} events/s over ${fmt(v.events)} events in ${fmt(v.seconds, 2)} s, ` +
      `${fmt(v.ratioToTarget, 2)}x the ${fmt(TARGET_VERIFY_PER_SEC)}/s target  ${passFail(targets.verifyPerSec.pass)}`,
    `  timed passes: ${v.passes.map((p) => `${fmt(p, 2)} s`).join(', ')} (median shown)`,
  ];
  console.log(lines.join('\n'));
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------

async function postgresVersion(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ server_version: string }>`show server_version`.execute(db);
  return rows[0]?.server_version ?? 'unknown';
}

async function runBench(server: PostgresServer, url: string, options: Options): Promise<Report> {
  await migrate(url);
  const db = createKysely(url, options.poolMax);
  try {
    await createPlainTable(db);
    const audit = new AuditService(db);
    const startedAt = new Date().toISOString();
    const writes = await compareWrites(db, audit, options);
    const verification = await measureVerification(db, audit, options.verifyEvents);
    const at32 = writes.find((w) => w.writers === 32);
    if (at32 === undefined) {
      throw new Error('no 32-writer run');
    }
    const { outFile: _outFile, ...shown } = options;
    return {
      startedAt,
      environment: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        postgres: await postgresVersion(db),
        postgresOrigin: server.origin,
      },
      options: shown,
      writes,
      verification,
      targets: {
        chainedRatioAt32: {
          target: TARGET_CHAINED_RATIO,
          actual: at32.ratio,
          pass: at32.ratio >= TARGET_CHAINED_RATIO,
        },
        verifyPerSec: {
          target: TARGET_VERIFY_PER_SEC,
          actual: verification.perSec,
          ratio: verification.ratioToTarget,
          pass: verification.perSec >= TARGET_VERIFY_PER_SEC,
        },
      },
    };
  } finally {
    await db.destroy();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const cleanup of onInterrupt) {
        cleanup();
      }
      process.exit(128 + constants.signals[signal]);
    });
  }
  const server = await acquirePostgres();
  try {
    const database = await createBenchDatabase(server.adminUrl);
    try {
      const report = await runBench(server, database.url, options);
      printReport(report);
      await mkdir(dirname(options.outFile), { recursive: true });
      await writeFile(options.outFile, JSON.stringify(report, null, 2) + '\n');
      log(`results written to ${options.outFile}`);
    } finally {
      await database.drop();
    }
  } finally {
    await server.release();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
