import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type {
  Release,
  ReleaseFile,
  ReleasePage,
  ReleaseListQuery,
  ReleaseSummary,
} from '@lantern/sdk';
import { RELEASE_STATES, type ReleaseState } from '@lantern/core/releases';
import { CliError } from '../cli-error.js';
import {
  clientFor,
  describeFailure,
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
 * request (each at most the airlock's per-file limit, 32 MiB by default, so held in memory), each
 * put in place only when its SHA-256 is the one the request recorded (and the server sent), through
 * a private temporary file beside where it goes: a file is written whole or not at all. An existing file is never replaced without --force, and
 * every target is checked before anything is fetched.
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
  for (const file of files) {
    const path = join(out, file.name);
    const download = await answer(target, () => client.downloadReleaseFile(id, file.id));
    await writeVerified(path, file, download, options.force === true);
    console.log(
      `Downloaded ${file.name} (${describeBytes(file.bytes)}, sha256 ${file.sha256}) to ${path}`,
    );
  }
  return 0;
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
 * A downloaded file's bytes into `path`, whole or not at all: checked first against the SHA-256
 * and size the request recorded and the SHA-256 the server sent, then written to a new private
 * file beside `path` (0600, created exclusively, flushed) and moved into place: renamed over
 * `path` with `replace`, else linked (which fails when `path` appeared meanwhile, so nothing is
 * replaced). The temporary file goes whatever happens.
 */
async function writeVerified(
  path: string,
  file: ReleaseFile,
  download: { bytes: Uint8Array; sha256: string },
  replace: boolean,
): Promise<void> {
  const sha256 = createHash('sha256').update(download.bytes).digest('hex');
  const size = download.bytes.byteLength;
  if (sha256 !== file.sha256 || size !== file.bytes || download.sha256 !== file.sha256) {
    throw new CliError(
      1,
      `${file.name} arrived as ${size} bytes with SHA-256 ${sha256}, not the ${file.bytes} bytes with ${file.sha256} the request recorded; it was not written`,
    );
  }
  const temporary = join(
    resolve(path, '..'),
    `.${file.name}.${randomBytes(6).toString('hex')}.part`,
  );
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(download.bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (replace) {
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
