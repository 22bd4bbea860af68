import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyDataset } from '../../server/src/testing/datasets.js';
import { request } from '../../server/src/testing/http.js';
import {
  launchRunningInstance,
  stopLeftoverInstances,
} from '../../server/src/testing/instances.js';
import { JupyterKernel } from '../../server/src/testing/jupyter-kernel.js';
import { addMemberDirectly } from '../../server/src/testing/projects.js';
import { startTestServer, type TestServer } from '../../server/src/testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../../server/src/testing/users.js';
import { answerOnTerminal, runCli, startCli, type CliResult } from './testing/run-cli.js';

// `lantern releases …` against a real server with a real instance (Debian's Jupyter in a bubblewrap
// sandbox): the project's owner asks for releases from inside it with ngsci.request_release, in a
// notebook kernel reached through Lantern's instance proxy as a browser reaches it; then the
// command, run as a user runs it, lists, shows, decides, downloads and withdraws them. The server
// and its test helpers are the server suite's own (apps/server/src/testing): the CLI reaches the
// server over HTTP only.

const ENV = { LANTERN_INSTANCE_POLL_MS: '100', LANTERN_INSTANCE_START_WAIT_MS: '0' };
const PASSWORD = 'seven quiet rivers under the hill';
const OPEN = 'demo-airlock-cli';
const SUMMARY = 'group,n,mean_age\nall,1204,63.2\narrest,57,66.0\n';
const NOTES = 'Arrest was rarer after 60 in both groups.\n';
/** More requests than one page holds (50), so that listing them takes every page. */
const MORE = 51;
/** A file larger than a read's chunk and than the bar's threshold: it arrives in many pieces. */
const LARGE_BYTES = 6 * 1024 * 1024 + 123;

let server: TestServer;
let owner: SignedInUser;
let viewer: SignedInUser;
let reviewer: SignedInUser;
let outsider: SignedInUser;
let tokens: Record<'owner' | 'viewer' | 'reviewer' | 'outsider', string>;
let projectId: string;
let kernel: JupyterKernel | undefined;
let home: string;
/** The requests made in the instance: to approve, to reject, to withdraw, to corrupt, a large one. */
let ids: { approve: string; reject: string; withdraw: string; corrupt: string; large: string };

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** The environment of `lantern` run against the test server with `token`. */
const environment = (token: string) => ({
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'config'),
  LANTERN_SERVER: server.url,
  LANTERN_TOKEN: token,
});

/** `lantern <args>` against the test server with `token` (no terminal: stdin is a pipe). */
function lantern(args: string[], token: string, stdin = ''): Promise<CliResult> {
  return runCli(args, environment(token), stdin);
}

/** An API token of a signed-in person, made as the web Account page makes one. */
async function tokenOf(person: SignedInUser, scope: string[]): Promise<string> {
  const res = await request(server, 'POST', '/api/v1/auth/tokens', person, {
    name: 'cli releases',
    scope,
    expiresInDays: 1,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** Runs Python in the instance's kernel; what it printed. */
async function python(code: string): Promise<string> {
  const run = await kernel?.execute(code);
  expect(run?.status, run?.output).toBe('ok');
  return run?.output ?? '';
}

/** A request made in the instance of the files in the project folder that `write` (Python) writes. */
async function requestMade(write: string[], names: string[], purpose: string): Promise<string> {
  const output = await python(
    [
      'import ngsci, os',
      ...write,
      `paths = [${names.map((name) => `'/home/ngsci/project/${name}'`).join(', ')}]`,
      `print(*ngsci.request_release(paths, purpose=${JSON.stringify(purpose)}))`,
    ].join('\n'),
  );
  const id = /SUCCESS release request (rel_[0-9a-f]{16}) is waiting/u.exec(output)?.[1];
  expect(id, output).toBeDefined();
  return id ?? '';
}

/** A request made in the instance of `files` (name to text), its id. */
const requestFromInstance = (files: Record<string, string>, purpose: string) =>
  requestMade(
    Object.entries(files).map(
      ([name, text]) => `open('/home/ngsci/project/${name}', 'w').write(${JSON.stringify(text)})`,
    ),
    Object.keys(files),
    purpose,
  );

/** A request made in the instance of one file of LARGE_BYTES random bytes, its id. */
const requestLargeFromInstance = () =>
  requestMade(
    [`open('/home/ngsci/project/model.bin', 'wb').write(os.urandom(${LARGE_BYTES}))`],
    ['model.bin'],
    'The fitted model',
  );

/**
 * How a proxy in front of the server spoils the content of a file, as a broken network or a
 * misbehaving server would: `cut` sends the headers and half the bytes, then drops the connection;
 * `hold` sends as much, then nothing more, the connection open; `longer` declares no length and
 * sends the bytes twice, the connection open; `relabel` sends them whole under another SHA-256.
 */
type Fault = 'cut' | 'hold' | 'longer' | 'relabel';

/** A proxy to the test server that passes every answer on as it is but a file's content. */
async function faultyProxy(fault: Fault): Promise<{ url: string; close: () => Promise<void> }> {
  const proxy = createServer((req, res) => {
    void relay(req, res, fault);
  });
  await new Promise<void>((listening) => proxy.listen(0, '127.0.0.1', listening));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      proxy.closeAllConnections();
      return new Promise((closed) => proxy.close(() => closed()));
    },
  };
}

/** The server's answer to `req` (a GET), spoilt by `fault` when it is a file's content. */
async function relay(req: IncomingMessage, res: ServerResponse, fault: Fault): Promise<void> {
  const path = req.url ?? '/';
  const upstream = await fetch(`${server.url}${path}`, {
    headers: { authorization: req.headers.authorization ?? '' },
  });
  const body = Buffer.from(await upstream.arrayBuffer());
  const headers = {
    'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
    'x-content-sha256': upstream.headers.get('x-content-sha256') ?? '',
  };
  const sized = { ...headers, 'content-length': String(body.length) };
  if (!upstream.ok || !path.endsWith('/content')) {
    res.writeHead(upstream.status, sized).end(body);
    return;
  }
  const half = body.subarray(0, Math.floor(body.length / 2));
  switch (fault) {
    case 'cut':
      res.writeHead(200, sized).write(half, () => res.destroy());
      return;
    case 'hold':
      res.writeHead(200, sized).write(half);
      return;
    case 'longer':
      res.writeHead(200, headers).write(Buffer.concat([body, body]));
      return;
    case 'relabel':
      res.writeHead(200, { ...sized, 'x-content-sha256': '0'.repeat(64) }).end(body);
      return;
  }
  fault satisfies never;
}

const person = (email: string, roles = ['researcher']) =>
  createSignedInUser(server, { email, roles, password: PASSWORD });

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'lantern-cli-releases-'));
  server = await startTestServer(ENV);
  // The sandbox user opens the binds: the data directory must be traversable.
  await chmod(server.dataDir, 0o711);
  const curator = await person('curator@example.org', ['curator']);
  owner = await person('olive@example.org');
  viewer = await person('vera@example.org');
  outsider = await person('nina@example.org');
  reviewer = await person('rita@example.org', ['reviewer']);
  await publishTinyDataset(server, curator, OPEN, 'open', 3);
  const made = await request(server, 'POST', '/api/v1/projects', owner, {
    title: 'Arrest from resting ECGs',
    purpose: 'Whether the morphology of a resting ECG predicts sudden cardiac arrest.',
    datasets: [{ slug: OPEN, version: '1.0' }],
  });
  expect(made.status).toBe(201);
  projectId = ((await made.json()) as { id: string }).id;
  await addMemberDirectly(server, projectId, viewer.id, 'viewer');
  tokens = {
    owner: await tokenOf(owner, ['account', 'project.work']),
    viewer: await tokenOf(viewer, ['account', 'project.work']),
    reviewer: await tokenOf(reviewer, ['account', 'release.review']),
    outsider: await tokenOf(outsider, ['account', 'project.work']),
  };

  const instanceId = await launchRunningInstance(server, owner, projectId, [
    { slug: OPEN, version: '1.0' },
  ]);
  kernel = await JupyterKernel.openAt(`${server.url}/instances/${instanceId}/`, {
    cookie: owner.cookie,
    origin: server.url,
  });
  ids = {
    approve: await requestFromInstance(
      { 'summary.csv': SUMMARY, 'notes.txt': NOTES },
      'Aggregate arrest rates, for the paper',
    ),
    reject: await requestFromInstance({ 'ids.txt': 'look at p1 and p2\n' }, 'Patients to follow'),
    withdraw: await requestFromInstance({ 'draft.txt': 'not ready\n' }, 'Sent too early'),
    corrupt: await requestFromInstance({ 'figure.txt': 'figure 2 data\n' }, 'Figure 2'),
    large: await requestLargeFromInstance(),
  };
  // More requests than a page holds, made as ngsci makes each one.
  await python(
    [
      'import ngsci',
      "open('/home/ngsci/project/more.txt', 'w').write('one more\\n')",
      `for i in range(${MORE - Object.keys(ids).length}):`,
      "    assert ngsci.request_release('/home/ngsci/project/more.txt', purpose=f'more {i}')[0].name == 'SUCCESS'",
    ].join('\n'),
  );
}, 240_000);

afterAll(async () => {
  await kernel?.close();
  await stopLeftoverInstances(server);
  await server.close();
  await rm(home, { recursive: true, force: true });
});

describe('lantern releases', () => {
  it("lists the project's requests, every page, newest first, for its members only", async () => {
    const listed = await lantern(['releases', 'list', '--project', projectId], tokens.viewer);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATE +REQUESTED \(UTC\) +BY +FILES +SIZE +FLAGGED$/u);
    expect(lines.length).toBe(1 + MORE);
    // The first one was made first: it comes last.
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^${ids.approve} +pending +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d +olive@example.org +2 +\\d+ bytes +0$`,
        'u',
      ),
    );
    const json = JSON.parse(
      (await lantern(['releases', 'list', '--project', projectId, '--json'], tokens.viewer)).stdout,
    ) as { releases: { id: string; state: string }[] };
    expect(json.releases.length).toBe(MORE);
    expect(new Set(json.releases.map((r) => r.id)).size).toBe(MORE);
    expect(json.releases.at(-1)?.id).toBe(ids.approve);

    const stranger = await lantern(['releases', 'list', '--project', projectId], tokens.outsider);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/^lantern: http:\S+ answered 404: /u);
    const badState = await lantern(
      ['releases', 'list', '--project', projectId, '--state', 'done'],
      tokens.viewer,
    );
    expect(badState).toMatchObject({
      code: 2,
      stderr: 'lantern: --state done: use one of pending, approved, rejected, withdrawn\n',
    });
  });

  it('shows a request: purpose, files with sizes and checks, and what you may do', async () => {
    const shown = await lantern(['releases', 'show', ids.approve], tokens.owner);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    const lines = shown.stdout.split('\n');
    expect(lines[0]).toBe(`${ids.approve} (pending) in Arrest from resting ECGs (${projectId})`);
    expect(lines[1]).toMatch(/^Requested by olive@example.org on .* UTC from ins_[0-9a-f]{16}$/u);
    expect(lines[2]).toBe('Purpose: Aggregate arrest rates, for the paper');
    expect(shown.stdout).toMatch(
      new RegExp(
        `summary\\.csv +${SUMMARY.length} bytes +text/csv +${sha256(SUMMARY).slice(0, 16)} +none`,
        'u',
      ),
    );
    expect(shown.stdout).toContain(`Next: lantern releases withdraw ${ids.approve}\n`);
    expect(shown.stdout).not.toContain('releases decide');

    // The disclosure checks say where, with the ids masked.
    const flagged = await lantern(['releases', 'show', ids.reject], tokens.reviewer);
    expect(flagged.stdout).toMatch(/ids\.txt +\d+ bytes +text\/plain +\w+ +identifiers/u);
    expect(flagged.stdout).toContain('  ids.txt: identifiers: ');
    expect(flagged.stdout).not.toMatch(/p1|p2/u);
    expect(flagged.stdout).toContain(
      `Next: lantern releases decide ${ids.reject} --approve|--reject --reason TEXT`,
    );

    const json = JSON.parse(
      (await lantern(['releases', 'show', ids.approve, '--json'], tokens.viewer)).stdout,
    ) as {
      files: { name: string; sha256: string }[];
    };
    expect(json.files.map((f) => [f.name, f.sha256])).toEqual([
      ['summary.csv', sha256(SUMMARY)],
      ['notes.txt', sha256(NOTES)],
    ]);
    expect((await lantern(['releases', 'show', ids.approve], tokens.outsider)).code).toBe(1);
  });

  it('lists the queue for reviewers, oldest first, every page', async () => {
    const queue = await lantern(['releases', 'queue', '--json'], tokens.reviewer);
    expect(queue).toMatchObject({ code: 0, stderr: '' });
    const { releases } = JSON.parse(queue.stdout) as { releases: { id: string }[] };
    expect(releases.length).toBe(MORE);
    expect(releases.slice(0, 5).map((r) => r.id)).toEqual([
      ids.approve,
      ids.reject,
      ids.withdraw,
      ids.corrupt,
      ids.large,
    ]);
    const table = await lantern(['releases', 'queue'], tokens.reviewer);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ID +STATE +REQUESTED \(UTC\) +BY +PROJECT +FILES +SIZE +FLAGGED$/u,
    );
    const member = await lantern(['releases', 'queue'], tokens.owner);
    expect(member.code).toBe(1);
    expect(member.stderr).toMatch(/^lantern: /u);
  });

  it('decides with a reason, for reviewers only, never twice', async () => {
    const neither = await lantern(
      ['releases', 'decide', ids.approve, '--reason', 'ok'],
      tokens.reviewer,
    );
    expect(neither).toMatchObject({
      code: 2,
      stderr: 'lantern: say --approve or --reject (one of them)\n',
    });
    const both = await lantern(
      ['releases', 'decide', ids.approve, '--approve', '--reject', '--reason', 'ok'],
      tokens.reviewer,
    );
    expect(both.code).toBe(2);
    const byOwner = await lantern(
      ['releases', 'decide', ids.approve, '--approve', '--reason', 'mine'],
      tokens.owner,
    );
    expect(byOwner.code).toBe(1);

    const reason = 'Aggregates only, no small cells.';
    const approved = await lantern(
      ['releases', 'decide', ids.approve, '--approve', '--reason', reason],
      tokens.reviewer,
    );
    expect(approved).toMatchObject({
      code: 0,
      stderr: '',
      stdout: `Approved ${ids.approve} (2 files of Arrest from resting ECGs): ${reason}\n`,
    });
    for (const [id, flag] of [
      [ids.reject, '--reject'],
      [ids.corrupt, '--approve'],
    ] as const) {
      expect(
        (await lantern(['releases', 'decide', id, flag, '--reason', 'Read it.'], tokens.reviewer))
          .code,
      ).toBe(0);
    }
    const again = await lantern(
      ['releases', 'decide', ids.approve, '--reject', '--reason', 'changed my mind'],
      tokens.reviewer,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/answered 409: this request is approved; /u);
    const shown = await lantern(['releases', 'show', ids.approve], tokens.viewer);
    expect(shown.stdout).toMatch(
      new RegExp(`^Approved by rita@example.org on .* UTC: ${reason}$`, 'mu'),
    );
    const approvedOnly = JSON.parse(
      (
        await lantern(
          ['releases', 'list', '--project', projectId, '--state', 'approved', '--json'],
          tokens.viewer,
        )
      ).stdout,
    ) as { releases: { id: string }[] };
    expect(approvedOnly.releases.map((r) => r.id).sort()).toEqual(
      [ids.approve, ids.corrupt].sort(),
    );
  });

  it('downloads an approved request whole, checked, never over a file without --force', async () => {
    const out = await mkdtemp(join(home, 'out-'));
    const got = await lantern(['releases', 'download', ids.approve, '--out', out], tokens.viewer);
    expect(got).toMatchObject({ code: 0, stderr: '' });
    expect(got.stdout).toBe(
      `Downloaded summary.csv (${SUMMARY.length} bytes, sha256 ${sha256(SUMMARY)}) to ${join(out, 'summary.csv')}\n` +
        `Downloaded notes.txt (${NOTES.length} bytes, sha256 ${sha256(NOTES)}) to ${join(out, 'notes.txt')}\n`,
    );
    expect(await readFile(join(out, 'summary.csv'), 'utf8')).toBe(SUMMARY);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe(NOTES);

    // A file there already: nothing is fetched, nothing replaced, until --force.
    await writeFile(join(out, 'notes.txt'), 'my own notes\n');
    const refused = await lantern(
      ['releases', 'download', ids.approve, '--out', out],
      tokens.viewer,
    );
    expect(refused).toMatchObject({
      code: 1,
      stderr: `lantern: ${join(out, 'summary.csv')} exists: --force replaces it; nothing was downloaded\n`,
    });
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('my own notes\n');
    const one = await lantern(
      ['releases', 'download', ids.approve, '--out', out, '--file', 'notes.txt', '--force'],
      tokens.viewer,
    );
    expect(one.code).toBe(0);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe(NOTES);
    const unknown = await lantern(
      ['releases', 'download', ids.approve, '--out', out, '--file', 'model.pkl'],
      tokens.viewer,
    );
    expect(unknown).toMatchObject({
      code: 2,
      stderr: `lantern: --file model.pkl: ${ids.approve} has no such file (it has summary.csv, notes.txt)\n`,
    });
    expect((await readdir(out)).sort()).toEqual(['notes.txt', 'summary.csv']);

    for (const id of [ids.reject, ids.withdraw]) {
      const notApproved = await lantern(['releases', 'download', id, '--out', out], tokens.owner);
      expect(notApproved.code).toBe(1);
      expect(notApproved.stderr).toMatch(/only an approved request's files can be downloaded\n$/u);
    }
    expect(
      (await lantern(['releases', 'download', ids.approve, '--out', out], tokens.reviewer)).code,
    ).toBe(1);
  });

  it('writes nothing when the bytes that arrive are not the ones the request recorded', async () => {
    const release = (await (
      await request(server, 'GET', `/api/v1/releases/${ids.corrupt}`, owner)
    ).json()) as {
      files: { sha256: string }[];
    };
    const hex = release.files[0]?.sha256 ?? '';
    // The stored object altered behind the server's back (a disk fault, a tampered store).
    const object = join(server.dataDir, 'objects', 'sha256', hex.slice(0, 2), hex);
    await chmod(object, 0o600);
    await writeFile(object, 'figure 2 DATA\n');
    const out = await mkdtemp(join(home, 'corrupt-'));
    const got = await lantern(['releases', 'download', ids.corrupt, '--out', out], tokens.owner);
    expect(got.code).toBe(1);
    expect(got.stderr).toMatch(
      /^lantern: figure\.txt arrived as 14 bytes with SHA-256 \w+, not the 14 bytes with \w+ the request recorded; it was not written\n$/u,
    );
    expect(await readdir(out)).toEqual([]);
  });

  it('streams a large file to disk byte for byte, with a bar on a terminal, replacing a file only with --force', async () => {
    const decided = await lantern(
      ['releases', 'decide', ids.large, '--approve', '--reason', 'A model, no data.'],
      tokens.reviewer,
    );
    expect(decided.code).toBe(0);
    // The bytes as they are in the project folder, where they were made.
    const made = (
      await python(
        "import hashlib; print(hashlib.sha256(open('/home/ngsci/project/model.bin', 'rb').read()).hexdigest())",
      )
    ).trim();
    const out = await mkdtemp(join(home, 'large-'));
    const path = join(out, 'model.bin');
    const got = await answerOnTerminal(
      ['releases', 'download', ids.large, '--out', out],
      environment(tokens.owner),
    );
    expect(got.code, got.screen).toBe(0);
    expect(got.screen).toMatch(/downloading +\[[#-]+\] +0\/1 +[\d.]+ [kM]?B of 6\.3 MB/u);
    expect(got.screen).toContain(`Downloaded model.bin (6.3 MB, sha256 ${made}) to ${path}`);
    const bytes = await readFile(path);
    expect(bytes.byteLength).toBe(LARGE_BYTES);
    expect(sha256(bytes)).toBe(made);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(out)).toEqual(['model.bin']);

    // Off a terminal no bar; a file there is left as it is without --force, replaced with it.
    await writeFile(path, 'my own model\n');
    const refused = await lantern(['releases', 'download', ids.large, '--out', out], tokens.owner);
    expect(refused).toMatchObject({
      code: 1,
      stderr: `lantern: ${path} exists: --force replaces it; nothing was downloaded\n`,
    });
    expect(await readFile(path, 'utf8')).toBe('my own model\n');
    const forced = await lantern(
      ['releases', 'download', ids.large, '--out', out, '--force'],
      tokens.owner,
    );
    expect(forced).toMatchObject({ code: 0, stderr: '' });
    expect(sha256(await readFile(path))).toBe(made);
    expect(await readdir(out)).toEqual(['model.bin']);
  });

  it('writes nothing when the answer is cut, longer than recorded or mislabelled', async () => {
    const size = SUMMARY.length;
    const cases: [Fault, RegExp][] = [
      [
        'cut',
        new RegExp(
          `^lantern: the connection broke after \\d+ of summary\\.csv's ${size} bytes \\(.+\\); it was not written\n$`,
          'u',
        ),
      ],
      // The proxy keeps the connection open: only refusing as soon as it is too long ends this.
      [
        'longer',
        new RegExp(
          `^lantern: the server sent more of summary\\.csv than the ${size} bytes the request recorded; it was not written\n$`,
          'u',
        ),
      ],
      [
        'relabel',
        new RegExp(
          `^lantern: the server described summary\\.csv as ${size} bytes with SHA-256 0{64}, not the ${size} bytes with ${sha256(SUMMARY)} the request recorded; it was not written\n$`,
          'u',
        ),
      ],
    ];
    for (const [fault, message] of cases) {
      const proxy = await faultyProxy(fault);
      try {
        const out = await mkdtemp(join(home, `${fault}-`));
        const got = await runCli(['releases', 'download', ids.approve, '--out', out], {
          ...environment(tokens.owner),
          LANTERN_SERVER: proxy.url,
        });
        expect(got.stderr, fault).toMatch(message);
        expect(got.code, fault).toBe(fault === 'cut' ? 2 : 1);
        expect(await readdir(out), fault).toEqual([]);
      } finally {
        await proxy.close();
      }
    }
  });

  it('writes nothing when Ctrl-C stops a download midway', async () => {
    const proxy = await faultyProxy('hold');
    try {
      const out = await mkdtemp(join(home, 'interrupted-'));
      const running = startCli(['releases', 'download', ids.approve, '--out', out], {
        ...environment(tokens.owner),
        LANTERN_SERVER: proxy.url,
      });
      // Half the bytes are in the temporary file; the rest never come.
      const half = Math.floor(SUMMARY.length / 2);
      await expect
        .poll(async () => {
          const names = await readdir(out);
          return Promise.all(
            names.map(async (name) => [
              /^\.summary\.csv\.\w+\.part$/u.test(name),
              (await stat(join(out, name))).size,
            ]),
          );
        })
        .toEqual([[true, half]]);
      running.process.kill('SIGINT');
      expect(await running.result).toMatchObject({
        code: 130,
        stdout: '',
        stderr: 'lantern: interrupted: summary.csv was not written\n',
      });
      expect(await readdir(out)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('withdraws a pending request: asks first, or --yes; the requester only', async () => {
    const noTerminal = await lantern(['releases', 'withdraw', ids.withdraw], tokens.owner, 'y\n');
    expect(noTerminal).toMatchObject({
      code: 2,
      stderr:
        'lantern: stdin is not a terminal: pass --yes to withdraw without being asked; nothing was withdrawn\n',
    });
    expect(
      (await lantern(['releases', 'withdraw', ids.withdraw, '--yes'], tokens.viewer)).code,
    ).toBe(1);
    // On a terminal it asks, saying what the request is; only a yes withdraws.
    const question = `Withdraw ${ids.withdraw} (1 file: Sent too early)? [y/N]`;
    const declined = await answerOnTerminal(
      ['releases', 'withdraw', ids.withdraw],
      environment(tokens.owner),
      question,
      'n',
    );
    expect(declined.code).toBe(1);
    expect(declined.screen).toContain('lantern: nothing was withdrawn');
    const still = await lantern(['releases', 'show', ids.withdraw], tokens.owner);
    expect(still.stdout).toMatch(/^\S+ \(pending\)/u);
    const withdrawn = await lantern(['releases', 'withdraw', ids.withdraw, '--yes'], tokens.owner);
    expect(withdrawn).toMatchObject({
      code: 0,
      stdout: `Withdrew ${ids.withdraw} (1 file of Arrest from resting ECGs)\n`,
    });
    const again = await lantern(['releases', 'withdraw', ids.withdraw, '--yes'], tokens.owner);
    expect(again.code).toBe(1);
    const shown = await lantern(['releases', 'show', ids.withdraw], tokens.owner);
    expect(shown.stdout.split('\n')[0]).toBe(
      `${ids.withdraw} (withdrawn) in Arrest from resting ECGs (${projectId})`,
    );
  });
});
