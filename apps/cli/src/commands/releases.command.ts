import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type {
  Release,
  ReleaseFile,
  ReleaseFileStream,
  ReleasePage,
  ReleaseListQuery,
  ReleaseSummary,
} from '@lantern/sdk';
import { progressOn } from '@lantern/core/ingest';
import { RELEASE_STATES, type ReleaseState } from '@lantern/core/releases';
import { CliError } from '../cli-error.js';
import {
  clientFor,
  describeFailure,
  failureReason,
  requireToken,
  resolveTarget,
  type Target,
} from '../connection.js';
import { confirm } from '../prompt.js';
import { describeBytes, printTable, tableLines } from './describe.js';

/**
 * `lantern releases …`: the airlock from the command line (DESIGN.md: reviewed results are the only
 * thing that leaves). Members list their project's release requests, read one with its files and
 * disclosure checks, download the files of an approved one (each checked against its SHA-256 and
 * written whole or not at all), and withdraw a pending one; reviewers list the queue and decide.
 * Requests are made only from inside an instance (`ngsci.request_release`). The server decides
 * every right; these commands print what it answered.
 */

interface Common {
  server?: string;
  json?: boolean;
}

/** The signed-in target and its client. */
async function connect(server: string | undefined) {
  const target = await resolveTarget(server);
  requireToken(target);
  return { target, client: clientFor(target) };
}

/** Runs a call, its failure described as every command describes one. */
async function answer<TResult>(target: Target, call: () => Promise<TResult>): Promise<TResult> {
  try {
    return await call();
  } catch (error) {
    throw describeFailure(error, target);
  }
}

/** `--state` as typed, checked against the states a request has. */
export function parseState(state: string): ReleaseState {
  const found = RELEASE_STATES.find((s) => s === state);
  if (found === undefined) {
    throw new CliError(2, `--state ${state}: use one of ${RELEASE_STATES.join(', ')}`);
  }
  return found;
}

/** Every page of a listing, the cursor of each the `next` of the one before. */
async function allPages(
  page: (query: ReleaseListQuery) => Promise<ReleasePage>,
  query: ReleaseListQuery,
): Promise<ReleaseSummary[]> {
  const releases: ReleaseSummary[] = [];
  let cursor: string | null = null;
  do {
    const got: ReleasePage = await page(cursor === null ? query : { ...query, cursor });
    releases.push(...got.releases);
    cursor = got.next;
  } while (cursor !== null);
  return releases;
}

/** "2025-03-01 12:00" from an ISO time (UTC). */
const minute = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/** "1 file", "3 files". */
const describeFiles = (n: number) => `${n} ${n === 1 ? 'file' : 'files'}`;

function printSummaries(releases: readonly ReleaseSummary[], withProject: boolean): void {
  printTable([
    [
      'ID',
      'STATE',
      'REQUESTED (UTC)',
      'BY',
      ...(withProject ? ['PROJECT'] : []),
      'FILES',
      'SIZE',
      'FLAGGED',
    ],
    ...releases.map((r) => [
      r.id,
      r.state,
      minute(r.requestedAt),
      r.requestedBy.name,
      ...(withProject ? [r.projectTitle] : []),
      String(r.fileCount),
      describeBytes(r.totalBytes),
      String(r.flaggedFiles),
    ]),
  ]);
}

/** `lantern releases list --project ID [--state S]`: the project's requests, newest first. */
export async function listReleases(
  options: Common & { project: string; state?: string },
): Promise<number> {
  const state = options.state === undefined ? undefined : parseState(options.state);
  const { target, client } = await connect(options.server);
  const releases = await answer(target, () =>
    allPages(
      (query) => client.listProjectReleases(options.project, query),
      state === undefined ? {} : { state },
    ),
  );
  if (options.json === true) {
    console.log(JSON.stringify({ releases }, null, 2));
    return 0;
  }
  if (releases.length === 0) {
    console.log(
      `${options.project} has no ${state === undefined ? '' : `${state} `}release requests; they are made from inside an instance with ngsci.request_release.`,
    );
    return 0;
  }
  printSummaries(releases, false);
  return 0;
}

/** `lantern releases queue`: the requests waiting for a decision, oldest first (reviewers). */
export async function releaseQueue(options: Common): Promise<number> {
  const { target, client } = await connect(options.server);
  const releases = await answer(target, () =>
    allPages((query) => client.listReleaseQueue(query), { state: 'pending' }),
  );
  if (options.json === true) {
    console.log(JSON.stringify({ releases }, null, 2));
    return 0;
  }
  if (releases.length === 0) {
    console.log('No release request is waiting for a decision.');
    return 0;
  }
  printSummaries(releases, true);
  return 0;
}

/** What `lantern releases show` prints: the request, its files with their checks, the decision. */
export function releaseLines(release: Release): string[] {
  const decided =
    release.decision === null
      ? []
      : [
          `${release.decision.approved ? 'Approved' : 'Rejected'} by ${release.decision.by.name} on ${minute(release.decision.at)} UTC: ${release.decision.reason}`,
        ];
  const can = [
    release.canDownload ? `lantern releases download ${release.id}` : null,
    release.canDecide
      ? `lantern releases decide ${release.id} --approve|--reject --reason TEXT`
      : null,
    release.canWithdraw ? `lantern releases withdraw ${release.id}` : null,
  ].filter((line) => line !== null);
  return [
    `${release.id} (${release.state}) in ${release.projectTitle} (${release.projectId})`,
    `Requested by ${release.requestedBy.name} on ${minute(release.requestedAt)} UTC${release.instanceId === null ? '' : ` from ${release.instanceId}`}`,
    `Purpose: ${release.purpose}`,
    ...decided,
    '',
    ...tableLines([
      ['FILE', 'SIZE', 'TYPE', 'SHA-256', 'CHECKS'],
      ...release.files.map((f) => [
        f.name,
        describeBytes(f.bytes),
        f.mediaType,
        f.sha256.slice(0, 16),
        f.checks.length === 0 ? 'none' : f.checks.map((c) => c.code).join(', '),
      ]),
    ]),
    ...release.files.flatMap((f) => f.checks.map((c) => `  ${f.name}: ${c.code}: ${c.message}`)),
    ...(can.length === 0 ? [] : ['', ...can.map((line) => `Next: ${line}`)]),
  ];
}

/** `lantern releases show ID`: the request, its files, sizes, checks and decision. */
export async function showRelease(id: string, options: Common): Promise<number> {
  const { target, client } = await connect(options.server);
  const release = await answer(target, () => client.getRelease(id));
  if (options.json === true) {
    console.log(JSON.stringify(release, null, 2));
    return 0;
  }
  for (const line of releaseLines(release)) {
    console.log(line);
  }
  return 0;
}

/**
 * `lantern releases download ID [--out DIR] [--file NAME] [--force]`: the files of an approved
 * request, each streamed to disk (never held in memory: the airlock's per-file limit is the
 * server's to raise) and put in place only when its size and SHA-256 are the ones the request
 * recorded (and the server sent), through a private temporary file beside where it goes: a file
 * is written whole or not at all. An existing file is never replaced without --force, and every
 * target is checked before anything is fetched. Ctrl-C stops the file being downloaded, which is
 * not written; the files done before it stay. A bar on a terminal shows bytes and rate once the
 * files are large enough to wait for.
 */
export async function downloadRelease(
  id: string,
  options: { server?: string; out?: string; file?: string; force?: boolean },
): Promise<number> {
  const { target, client } = await connect(options.server);
  const release = await answer(target, () => client.getRelease(id));
  if (!release.canDownload) {
    throw new CliError(
      1,
      release.state === 'approved'
        ? `you may not download the files of ${id}: only members of its project may`
        : `${id} is ${release.state}: only an approved request's files can be downloaded`,
    );
  }
  const files = chosenFiles(release, options.file);
  const out = resolve(options.out ?? '.');
  await mkdir(out, { recursive: true });
  for (const file of files) {
    if (options.force !== true && (await exists(join(out, file.name)))) {
      throw new CliError(
        1,
        `${join(out, file.name)} exists: --force replaces it; nothing was downloaded`,
      );
    }
  }
  const progress = downloadProgress(files);
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.on('SIGINT', interrupt);
  try {
    for (const file of files) {
      const path = join(out, file.name);
      try {
        const download = await answer(target, () =>
          client.downloadReleaseFileStream(id, file.id, { signal: stop.signal }),
        );
        await writeVerified(path, file, download, {
          replace: options.force === true,
          signal: stop.signal,
          onBytes: progress.onBytes,
        });
      } catch (error) {
        throw stop.signal.aborted
          ? new CliError(130, `interrupted: ${file.name} was not written`)
          : error;
      } finally {
        progress.clear();
      }
      progress.onFile(file);
      console.log(
        `Downloaded ${file.name} (${describeBytes(file.bytes)}, sha256 ${file.sha256}) to ${path}`,
      );
    }
  } finally {
    process.off('SIGINT', interrupt);
  }
  return 0;
}

/** Files together at least this large show a bar on a terminal: smaller ones take no time. */
const PROGRESS_FROM_BYTES = 4 * 1024 ** 2;

/**
 * The bar of a download on stderr (`lantern ingest`'s bar): files and bytes done of all, rate and
 * time left; none off a terminal or for files too small to wait for. It is cleared before each
 * file's line is printed and drawn again by the next file's bytes.
 */
function downloadProgress(files: readonly ReleaseFile[]) {
  const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  const bar =
    process.stderr.isTTY && totalBytes >= PROGRESS_FROM_BYTES
      ? progressOn(process.stderr, () => performance.now())
      : null;
  let done = 0;
  let before = 0;
  return {
    onBytes: (bytes: number) =>
      bar?.update({
        phase: 'downloading',
        done,
        total: files.length,
        bytes: before + bytes,
        totalBytes,
      }),
    onFile: (file: ReleaseFile) => {
      done += 1;
      before += file.bytes;
    },
    clear: () => bar?.clear(),
  };
}

/** The request's files to download: all, or the one named (by its exact name). */
function chosenFiles(release: Release, name: string | undefined): ReleaseFile[] {
  for (const file of release.files) {
    // The server keeps plain names; a name with a folder in it would write outside --out.
    if (basename(file.name) !== file.name || file.name === '..' || file.name === '.') {
      throw new CliError(
        1,
        `${release.id} names a file with a path (${JSON.stringify(file.name)}); nothing was downloaded`,
      );
    }
  }
  if (name === undefined) {
    return release.files;
  }
  const file = release.files.find((f) => f.name === name);
  if (file === undefined) {
    throw new CliError(
      2,
      `--file ${name}: ${release.id} has no such file (it has ${release.files.map((f) => f.name).join(', ')})`,
    );
  }
  return [file];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * A downloaded file's bytes into `path`, whole or not at all. Refused unread when the server
 * declares another size or SHA-256 than the request recorded; else written as they arrive to a new
 * private file beside `path` (0600, created exclusively) while counted and hashed, refused as soon
 * as they outgrow the recorded size (a body that never ends must not fill the disk), then checked
 * against that size and SHA-256, flushed, and moved into place: renamed over `path` with
 * `replace`, else linked (which fails when `path` appeared meanwhile, so nothing is replaced). The
 * temporary file goes whatever happens: a mismatch, a connection broken midway, Ctrl-C (`signal`).
 */
async function writeVerified(
  path: string,
  file: ReleaseFile,
  download: ReleaseFileStream,
  how: { replace: boolean; signal: AbortSignal; onBytes: (bytes: number) => void },
): Promise<void> {
  if ((download.size !== null && download.size !== file.bytes) || download.sha256 !== file.sha256) {
    await download.body.cancel();
    throw notRecorded(
      file,
      `the server described ${file.name} as ${download.size ?? 'an unknown number of'} bytes with ${download.sha256 === '' ? 'no SHA-256' : `SHA-256 ${download.sha256}`}`,
    );
  }
  const temporary = join(
    resolve(path, '..'),
    `.${file.name}.${randomBytes(6).toString('hex')}.part`,
  );
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      const arrived = await copyHashed(download.body, handle, file, how.onBytes);
      if (arrived.sha256 !== file.sha256 || arrived.size !== file.bytes) {
        throw notRecorded(
          file,
          `${file.name} arrived as ${arrived.size} bytes with SHA-256 ${arrived.sha256}`,
        );
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Ctrl-C after the last byte still means: put nothing more in place.
    how.signal.throwIfAborted();
    if (how.replace) {
      await rename(temporary, path);
    } else {
      await link(temporary, path).catch((error: unknown) => {
        if (error instanceof Error && 'code' in error && error.code === 'EEXIST') {
          throw new CliError(
            1,
            `${path} appeared while it was downloaded: --force replaces it; it was not written`,
          );
        }
        throw error;
      });
    }
  } finally {
    await rm(temporary, { force: true });
  }
}

/** The failure of a file said or found to be other than the request recorded. */
function notRecorded(file: ReleaseFile, what: string): CliError {
  return new CliError(
    1,
    `${what}, not the ${file.bytes} bytes with ${file.sha256} the request recorded; it was not written`,
  );
}

/**
 * Writes `body` to `handle` chunk by chunk, counting and hashing it; stops (closing the
 * connection) as soon as it is longer than `file` is. A read that fails, because the connection
 * broke or Ctrl-C aborted it, is reported with how far it got.
 */
async function copyHashed(
  body: ReadableStream<Uint8Array>,
  handle: FileHandle,
  file: ReleaseFile,
  onBytes: (bytes: number) => void,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((error: unknown) => {
        throw new CliError(
          2,
          `the connection broke after ${size} of ${file.name}'s ${file.bytes} bytes (${failureReason(error)}); it was not written`,
        );
      });
      if (done) {
        return { size, sha256: hash.digest('hex') };
      }
      size += value.byteLength;
      if (size > file.bytes) {
        throw new CliError(
          1,
          `the server sent more of ${file.name} than the ${file.bytes} bytes the request recorded; it was not written`,
        );
      }
      hash.update(value);
      // At the file's position, whole (a write may take part of a chunk; writeFile loops).
      await handle.writeFile(value);
      onBytes(size);
    }
  } finally {
    // Closes the connection when the body was not read to its end; nothing when it was.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * `lantern releases decide ID --approve|--reject --reason TEXT` (reviewers): the reason is what
 * the project's members read; the requester is emailed.
 */
export async function decideRelease(
  id: string,
  options: { server?: string; approve?: boolean; reject?: boolean; reason: string; json?: boolean },
): Promise<number> {
  if ((options.approve === true) === (options.reject === true)) {
    throw new CliError(2, 'say --approve or --reject (one of them)');
  }
  const approved = options.approve === true;
  const { target, client } = await connect(options.server);
  const release = await answer(target, () =>
    client.decideRelease(id, { approved, reason: options.reason }),
  );
  if (options.json === true) {
    console.log(JSON.stringify(release, null, 2));
    return 0;
  }
  console.log(
    `${approved ? 'Approved' : 'Rejected'} ${id} (${describeFiles(release.fileCount)} of ${release.projectTitle}): ${options.reason}`,
  );
  return 0;
}

/**
 * `lantern releases withdraw ID [--yes]`: asks first on a terminal (its files stay with the
 * request; a withdrawn request cannot be decided or downloaded).
 */
export async function withdrawRelease(
  id: string,
  options: { server?: string; yes?: boolean },
): Promise<number> {
  const { target, client } = await connect(options.server);
  if (options.yes !== true) {
    if (!process.stdin.isTTY) {
      throw new CliError(
        2,
        'stdin is not a terminal: pass --yes to withdraw without being asked; nothing was withdrawn',
      );
    }
    const release = await answer(target, () => client.getRelease(id));
    if (
      !(await confirm(
        `Withdraw ${id} (${describeFiles(release.fileCount)}: ${release.purpose})? [y/N] `,
      ))
    ) {
      throw new CliError(1, 'nothing was withdrawn');
    }
  }
  const release = await answer(target, () => client.withdrawRelease(id));
  console.log(`Withdrew ${id} (${describeFiles(release.fileCount)} of ${release.projectTitle})`);
  return 0;
}
