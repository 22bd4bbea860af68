/**
 * python/ngsci, the module inside instances (issue 8), run by Debian's Python against a small HTTP
 * server on a UNIX socket standing where the platform's will be: each call sends the request the
 * platform's side expects (method, path, bearer token, body), and reads its answers and refusals
 * as documented. Inside a real sandbox it is exercised by local-backend.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZip } from '@lantern/formats';
import { PYTHON } from '../sandbox-command.js';

const PYTHON_LIB = fileURLToPath(new URL('../../../../../python', import.meta.url));
const TOKEN = 'platform-token-0123456789';

interface Seen {
  method: string;
  url: string;
  authorization: string;
  instance: string;
  contentType: string;
  csrf: string;
  body: string;
  bytes: Buffer;
}

let work: string;
let socketPath: string;
let server: Server;
let tcp: Server;
const seen: Seen[] = [];
/** What the platform answers next, by path (without the query). */
let answers: Record<string, { status: number; body: unknown }> = {};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** Runs `code` with ngsci importable and the instance's environment; its stdout. */
async function python(code: string, env: Record<string, string> = {}): Promise<string> {
  const child = spawn(PYTHON, ['-c', code], {
    env: {
      PYTHONPATH: PYTHON_LIB,
      PYTHONDONTWRITEBYTECODE: '1',
      NG_INSTANCE_ID: 'inst-ngsci',
      LANTERN_PLATFORM_SOCKET: socketPath,
      LANTERN_PLATFORM_TOKEN: TOKEN,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code_ = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code_, err).toBe(0);
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-ngsci-'));
  socketPath = join(work, 'platform.sock');
  server = createServer((req, res) => {
    void readBody(req).then((bytes) => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization ?? '',
        instance: String(req.headers['x-ng-instance-id'] ?? ''),
        contentType: req.headers['content-type'] ?? '',
        csrf: String(req.headers['x-lantern-csrf'] ?? ''),
        body: bytes.toString('utf8'),
        bytes,
      });
      const path = (req.url ?? '').split('?')[0]?.replace(/^\/platform(?=\/)/u, '') ?? '';
      const answer = answers[path] ?? {
        status: 404,
        body: { title: 'not found' },
      };
      res.statusCode = answer.status;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  // The same platform over TCP, where a Pod reaches it (LANTERN_PLATFORM_URL).
  tcp = createServer((req, res) => server.emit('request', req, res));
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => tcp.close(resolve));
  await rm(work, { recursive: true, force: true });
});

describe('ngsci', () => {
  it('names the instance from NG_INSTANCE_ID without asking the platform', async () => {
    const before = seen.length;
    expect(await python('import ngsci; print(ngsci.instance_id())')).toBe('inst-ngsci\n');
    expect(seen.length).toBe(before);
  });

  it('lists the mounted datasets with the bearer token', async () => {
    answers = {
      '/v1/datasets': {
        status: 200,
        body: {
          datasets: [
            {
              slug: 'arrest-ntuh-ecg',
              version: '1.2',
              path: '/home/ngsci/datasets/arrest-ntuh-ecg/1.2',
            },
          ],
        },
      },
    };
    const out = await python(
      'import ngsci\nfor d in ngsci.datasets(): print(d.slug, d.version, d.path)',
    );
    expect(out).toBe('arrest-ntuh-ecg 1.2 /home/ngsci/datasets/arrest-ntuh-ecg/1.2\n');
    expect(seen.at(-1)).toMatchObject({
      method: 'GET',
      url: '/v1/datasets',
      authorization: `Bearer ${TOKEN}`,
      instance: 'inst-ngsci',
    });
  });

  it('asks the platform to stop the instance, and raises when refused', async () => {
    answers = { '/v1/instance/stop': { status: 202, body: { state: 'stopping' } } };
    expect(await python("import ngsci; ngsci.stop_instance(); print('asked')")).toBe('asked\n');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/v1/instance/stop', body: '{}' });

    answers = { '/v1/instance/stop': { status: 403, body: { detail: 'not your instance' } } };
    const out = await python(
      'import ngsci\ntry:\n    ngsci.stop_instance()\nexcept ngsci.PlatformError as e:\n    print(e)',
    );
    expect(out).toBe('the platform refused to stop the instance (403: not your instance)\n');
  });

  it("submits a contest entry's bytes with its description, and returns the platform's result", async () => {
    const entry = join(work, 'predictions.csv');
    await writeFile(entry, 'ecg_id,prediction\ne1,0.25\n');
    answers = {
      '/v1/contest-entries': {
        status: 409,
        body: { result: 'FAILURE', message: 'no contest is open' },
      },
    };
    const out = await python(
      `import ngsci\nresult, message = ngsci.submit_contest_entry(${JSON.stringify(entry)}, description='first try')\nprint(result is ngsci.Result.FAILURE, message)`,
    );
    expect(out).toBe('True no contest is open\n');
    const request = seen.at(-1);
    expect(request).toMatchObject({
      method: 'POST',
      contentType: 'application/octet-stream',
      body: 'ecg_id,prediction\ne1,0.25\n',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(request?.url).toBe('/v1/contest-entries?filename=predictions.csv&description=first+try');

    answers = {
      '/v1/contest-entries': { status: 201, body: { result: 'SUCCESS', message: 'Success' } },
    };
    expect(
      await python(
        `import ngsci; print(ngsci.submit_contest_entry(${JSON.stringify(entry)}, description='x'))`,
      ),
    ).toBe("(<Result.SUCCESS: 'SUCCESS'>, 'Success')\n");
  });

  it('fails a submission of a missing file, or with no platform, with the reason', async () => {
    const before = seen.length;
    const missing = await python(
      "import ngsci; r, m = ngsci.submit_contest_entry('/nonexistent/entry.csv'); print(r.name, m)",
    );
    expect(missing).toBe('FAILURE cannot read /nonexistent/entry.csv: No such file or directory\n');
    expect(seen.length).toBe(before);

    const entry = join(work, 'entry.csv');
    await writeFile(entry, 'a\n');
    const unreachable = await python(
      `import ngsci; r, m = ngsci.submit_contest_entry(${JSON.stringify(entry)}); print(r.name, m)`,
      { LANTERN_PLATFORM_SOCKET: join(work, 'absent.sock') },
    );
    expect(unreachable).toMatch(/^FAILURE the platform did not answer on .*absent\.sock/u);
  });

  it('asks for a release of files as one stored ZIP under their own names, and says what came of it', async () => {
    const table = join(work, 'summary.csv');
    const notes = join(work, 'notes.txt');
    await writeFile(table, 'group,n\nall,1204\n');
    await writeFile(notes, 'Aggregates only.\n');
    answers = {
      '/v1/releases': {
        status: 201,
        body: { id: 'rel_0123456789abcdef', state: 'pending', files: 2 },
      },
    };
    const out = await python(
      `import ngsci\nprint(ngsci.request_release([${JSON.stringify(table)}, ${JSON.stringify(notes)}], purpose='Table 2'))`,
    );
    expect(out).toBe(
      "(<Result.SUCCESS: 'SUCCESS'>, 'release request rel_0123456789abcdef is waiting for review')\n",
    );
    const request = seen.at(-1);
    expect(request).toMatchObject({
      method: 'POST',
      url: '/v1/releases?purpose=Table+2',
      contentType: 'application/zip',
      authorization: `Bearer ${TOKEN}`,
    });
    const archive = readZip(request?.bytes ?? Buffer.alloc(0), { name: 'the request' });
    expect(archive.entries.map((e) => [e.name, e.method])).toEqual([
      ['summary.csv', 0],
      ['notes.txt', 0],
    ]);
    expect(archive.entries.map((e) => Buffer.from(archive.read(e)).toString())).toEqual([
      'group,n\nall,1204\n',
      'Aggregates only.\n',
    ]);

    answers = {
      '/v1/releases': { status: 400, body: { detail: 'the archive holds "summary.csv" twice' } },
    };
    expect(
      await python(`import ngsci; print(ngsci.request_release(${JSON.stringify(table)}, 'x'))`),
    ).toBe(
      "(<Result.FAILURE: 'FAILURE'>, 'the platform refused the request (400: the archive holds \"summary.csv\" twice)')\n",
    );
    const before = seen.length;
    expect(
      await python(`import ngsci; print(ngsci.request_release(${JSON.stringify(work)}, 'x')[1])`),
    ).toBe(`${work} is a folder; name the files in it to release\n`);
    expect(seen.length).toBe(before);

    // A platform configured with other limits says so, and what passes them is not sent.
    answers = {
      '/v1/releases/limits': { status: 200, body: { maxFiles: 1, maxFileBytes: 8, maxBytes: 8 } },
    };
    const both = `[${JSON.stringify(table)}, ${JSON.stringify(notes)}]`;
    expect(await python(`import ngsci; print(ngsci.request_release(${both}, 'x')[1])`)).toBe(
      '2 files; a request holds at most 1\n',
    );
    expect(
      await python(`import ngsci; print(ngsci.request_release(${JSON.stringify(table)}, 'x')[1])`),
    ).toBe(`${table} is 17 bytes; a file is at most 8\n`);
    expect(seen.slice(before).map((call) => `${call.method} ${call.url}`)).toEqual([
      'GET /v1/releases/limits',
      'GET /v1/releases/limits',
    ]);
  });

  it('puts its calls under LANTERN_PLATFORM_PATH on the socket (a Slurm job’s relay to the server’s HTTP)', async () => {
    answers = { '/v1/instance/stop': { status: 202, body: { state: 'stopping' } } };
    const env = { LANTERN_PLATFORM_PATH: '/platform/' };
    expect(await python('import ngsci; print(ngsci.stop_instance())', env)).toBe('None\n');
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      url: '/platform/v1/instance/stop',
      authorization: `Bearer ${TOKEN}`,
      instance: 'inst-ngsci',
    });
    const wrong = await python(
      'import ngsci\ntry:\n    ngsci.datasets()\nexcept ngsci.PlatformError as e:\n    print(e)',
      { LANTERN_PLATFORM_PATH: 'platform' },
    );
    expect(wrong).toBe('LANTERN_PLATFORM_PATH is not a path: platform\n');
  });

  it('speaks HTTP to LANTERN_PLATFORM_URL under /platform (a Pod), with the token from its file', async () => {
    const address = tcp.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const tokenFile = join(work, 'platform-token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    answers = { '/v1/instance/stop': { status: 202, body: { state: 'stopping' } } };
    const env = {
      LANTERN_PLATFORM_URL: `http://127.0.0.1:${port}/`,
      LANTERN_PLATFORM_TOKEN: '',
      LANTERN_PLATFORM_TOKEN_FILE: tokenFile,
      LANTERN_PLATFORM_SOCKET: join(work, 'absent.sock'),
    };
    expect(await python('import ngsci; print(ngsci.stop_instance())', env)).toBe('None\n');
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      url: '/platform/v1/instance/stop',
      authorization: `Bearer ${TOKEN}`,
      instance: 'inst-ngsci',
      csrf: '1',
    });
    const refused = await python(
      'import ngsci\ntry:\n    ngsci.datasets()\nexcept ngsci.PlatformError as e:\n    print(e)',
      { ...env, LANTERN_PLATFORM_TOKEN_FILE: join(work, 'absent-token') },
    );
    expect(refused).toMatch(/^the platform token cannot be read from .*absent-token/u);
    const wrong = await python(
      'import ngsci\ntry:\n    ngsci.datasets()\nexcept ngsci.PlatformError as e:\n    print(e)',
      { ...env, LANTERN_PLATFORM_URL: 'ftp://127.0.0.1/' },
    );
    expect(wrong).toBe('LANTERN_PLATFORM_URL is not an http(s) URL: ftp://127.0.0.1/\n');
  });
});
