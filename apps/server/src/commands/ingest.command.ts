/**
 * `lantern ingest DIR` on a local installation (issue 6): a partner's delivery read into its
 * dataset's draft in the data directory, through the same IngestService as the server's, by a
 * process that holds the data directory (PGlite allows one) while it runs. Progress goes to
 * stderr (a bar on a terminal, plain lines elsewhere, none with `--json`); the draft it made goes
 * to stdout: tables, files stored, deduplicated and held back, PHI findings with masked examples,
 * what blocks publication and the command to run next (`--json`: one object). Audit events name the local operator `system:cli` and are sealed
 * onto the chain before the command ends.
 *
 * Exit codes: 0 a draft was made; 1 the delivery was refused (every problem printed); 2 the
 * command cannot run (no such folder, the data directory held by a running server).
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppError, type FieldError } from '@lantern/core';
import { describeIngestSummary, progressOn } from '@lantern/core/ingest';
import { destination as pinoDestination } from 'pino';
import type { Config } from '../config.js';
import { createContext, type AppContext } from '../context.js';
import { DataDirError, DataDirInUseError, lockDataDir, prepareDataDir } from '../db/data-dir.js';
import { createLogger } from '../logging.js';
import { newRequestContext, runWithRequestContext } from '../request-context.js';
import type { PublicationPreview } from '../services/catalog/catalog.service.js';
import { summarize } from '../services/ingest/ingest-summary.js';
import type { IngestReport } from '../services/ingest/ingest.service.js';

/** Who ingests from the command line, in the audit log and as the ingest run's author. */
export const CLI_ACTOR = { kind: 'system', name: 'cli' } as const;

export interface IngestCommandOptions {
  json: boolean;
  /** Where the report goes (stdout) and where the bar and refusals go (stderr). */
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/** Runs the ingest of the delivery in `dir` against `config`'s data directory. */
export async function ingestCommand(
  config: Config,
  dir: string | undefined,
  options: IngestCommandOptions,
): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (dir === undefined) {
    throw new DataDirError('which delivery? usage: lantern ingest DIR [--data-dir DIR] [--json]');
  }
  const delivery = resolve(dir);
  const info = await stat(delivery).catch(() => null);
  if (info === null || !info.isDirectory()) {
    throw new DataDirError(
      `no delivery folder at ${delivery}: pass the folder that holds delivery.yaml`,
    );
  }

  await prepareDataDir(config.dataDir);
  const release = await lockForIngest(config, delivery);
  try {
    // Logs (warnings only) go to stderr: stdout is the report.
    const logger = createLogger({ logLevel: quieter(config.logLevel) }, pinoDestination(2));
    const ctx = await createContext(config, logger);
    try {
      return await runIngest(ctx, delivery, options.json, out, err);
    } finally {
      // Events the ingest queued join the hash chain now: no server may run to seal them.
      await ctx.services.audit.sealAll();
      await ctx.close();
    }
  } finally {
    await release();
  }
}

/**
 * Takes the data directory (on the embedded database; PostgreSQL serves many processes). Held by
 * a running server, it says so, naming the process, and what to do.
 */
async function lockForIngest(config: Config, delivery: string): Promise<() => Promise<void>> {
  if (config.databaseUrl !== undefined) {
    return () => Promise.resolve();
  }
  try {
    const lock = await lockDataDir(config.dataDir, 'lantern ingest');
    return () => lock.release();
  } catch (error) {
    if (error instanceof DataDirInUseError) {
      throw new DataDirError(
        `data directory ${config.dataDir} is in use by a running Lantern process (pid ${error.holder.pid}, ${error.holder.purpose}); on the embedded database an ingest needs the directory to itself: send the delivery to that server with lantern ingest ${delivery} --server URL (a curator's token), or stop it first`,
      );
    }
    throw error;
  }
}

async function runIngest(
  ctx: AppContext,
  delivery: string,
  json: boolean,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  // A bar on a terminal, plain lines on anything else; the report alone with --json.
  const bar = json ? null : progressOn(process.stderr, () => performance.now());
  const request = newRequestContext(`cli-${randomUUID()}`, null, CLI_ACTOR);
  let report: IngestReport;
  let preview: PublicationPreview;
  try {
    ({ report, preview } = await runWithRequestContext(request, async () => {
      const made = await ctx.services.ingest.ingestDirectory(delivery, {
        actor: `system:${CLI_ACTOR.name}`,
        ...(bar === null ? {} : { onProgress: (p) => bar.update(p) }),
      });
      return { report: made, preview: await ctx.services.catalog.preview(made.dataset) };
    }));
  } catch (error) {
    bar?.clear();
    if (error instanceof AppError && error.code !== 'internal') {
      printRefusal(error, json, out, err);
      return 1;
    }
    throw error;
  }
  bar?.clear();
  const summary = summarize(delivery, report, preview);
  if (json) {
    out(JSON.stringify(summary, null, 2));
  } else {
    for (const line of describeIngestSummary(summary)) {
      out(line);
    }
  }
  return 0;
}

/** A delivery refused (or a draft that could not be made): the reason and every problem. */
function printRefusal(
  error: AppError,
  json: boolean,
  out: (line: string) => void,
  err: (line: string) => void,
): void {
  const problems: FieldError[] = error.errors ?? [];
  if (json) {
    out(
      JSON.stringify(
        { refused: true, code: error.code, message: error.message, problems },
        null,
        2,
      ),
    );
    return;
  }
  err(`lantern: ${error.message}`);
  for (const problem of problems) {
    err(`  ${problem.path}: ${problem.message}`);
  }
  if (problems.length > 0) {
    err('Nothing was stored. Fix the delivery and run lantern ingest again.');
  }
}

/** The local command logs warnings and worse, or less when asked (`info` is the server's chatter). */
function quieter(level: Config['logLevel']): Config['logLevel'] {
  return level === 'info' ? 'warn' : level;
}
