import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as netConnect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayEndpoint } from '../compute-backend.js';
import { connectorOf, RelayConnectError } from '../notebook-connector.js';
import { DEFAULT_PYTHON_LIB, PYTHON } from '../sandbox-command.js';
import {
  platformPathOf,
  prepareRelay,
  readRelayAddress,
  relayArgs,
  relayFiles,
  type RelayFiles,
} from './slurm-relay.js';

// python/slurm-relay.py run by Debian's python3 against real sockets: an echo server standing in
// for Jupyter's socket and one for the server's platform port, both on this machine.

interface RunningRelay {
  files: RelayFiles;
  pin: string;
  endpoint: RelayEndpoint;
  process: ChildProcess;
  stderr: () => string;
}

let root: string;
let jupyter: Server;
let platform: Server;
let platformPort: number;
const jupyterConnections = { count: 0 };
const platformConnections = { count: 0 };
let relay: RunningRelay;

/** Sends back whatever it gets, and counts its connections. */
function echoServer(counter: { count: number }): Server {
  return createServer((socket) => {
    counter.count++;
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
}

async function until<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const found = await probe();
    if (found !== null) {
      return found;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} never happened`);
}

/** A relay in `folder`, started as the batch script starts it (`wrap` runs it under a shell). */
async function startRelay(folder: string, wrap = false): Promise<RunningRelay> {
  await mkdir(join(folder, 'run'), { recursive: true });
  const files = relayFiles(folder);
  const { fingerprint256 } = await prepareRelay(files, 'itest');
  const argv = relayArgs(
    files,
    { bind: '127.0.0.1', platformUrl: `http://127.0.0.1:${platformPort}/lantern/` },
    { pythonLib: DEFAULT_PYTHON_LIB, jupyterSocket: join(root, 'jupyter.sock') },
  );
  const child = wrap
    ? spawn('/bin/sh', ['-c', '"$@" --parent "$$" & echo "$!"; wait', 'sh', ...argv], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(argv[0] ?? PYTHON, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const address = await until('the relay listening', async () => {
    const read = await readRelayAddress(files, fingerprint256);
    if (read.state === 'wrong') {
      throw new Error(read.reason);
    }
    return read.state === 'listening' ? read.endpoint : null;
  });
  return { files, pin: fingerprint256, endpoint: address, process: child, stderr: () => stderr };
}

function connectThrough(endpoint: RelayEndpoint): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    connectorOf({ relay: endpoint }).connect((error, socket) =>
      error === null ? resolve(socket) : reject(error),
    );
  });
}

/** Writes `bytes` and reads as many back; the SHA-256 of what came back. */
async function roundTrip(socket: Duplex, bytes: Buffer): Promise<string> {
  const hash = createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (received >= bytes.length) {
        resolve();
      }
    });
    socket.on('error', reject);
    socket.on('close', () =>
      received >= bytes.length ? resolve() : reject(new Error(`closed after ${received} bytes`)),
    );
  });
  socket.write(bytes);
  await done;
  socket.destroy();
  return hash.digest('hex');
}

/** Sends `first` over TLS to the relay and says what came back before it closed. */
function sendRaw(endpoint: RelayEndpoint, first: Buffer, end: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: endpoint.host,
      port: endpoint.port,
      rejectUnauthorized: false,
    });
    let answer = '';
    socket.on('secureConnect', () => {
      socket.write(first);
      if (end) {
        socket.end();
      } else {
        // More after a refusal is never carried anywhere.
        socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', () => undefined);
      }
    });
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error),
    );
    socket.on('close', () => resolve(answer));
  });
}

beforeAll(async () => {
  root = await mkdtemp('/tmp/lantern-relay-test.');
  jupyter = echoServer(jupyterConnections);
  await new Promise<void>((resolve) => jupyter.listen(join(root, 'jupyter.sock'), resolve));
  platform = echoServer(platformConnections);
  await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
  const address = platform.address();
  platformPort = typeof address === 'object' && address !== null ? address.port : 0;
  relay = await startRelay(join(root, 'instance'));
}, 60_000);

afterAll(async () => {
  relay?.process.kill('SIGTERM');
  await new Promise((resolve) => jupyter?.close(resolve));
  await new Promise((resolve) => platform?.close(resolve));
  if (root !== undefined) {
    await rm(root, { recursive: true, force: true });
  }
});

describe('the Slurm relay (python/slurm-relay.py)', () => {
  it('has a certificate, key and secret only the server reads, and says where it listens', async () => {
    expect((await stat(relay.files.dir)).mode & 0o777).toBe(0o700);
    for (const file of [relay.files.cert, relay.files.key, relay.files.secret]) {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    }
    const certificate = new X509Certificate(await readFile(relay.files.cert));
    expect(certificate.subject).toBe('CN=lantern-relay-itest');
    expect(relay.pin).toBe(certificate.fingerprint256);
    expect(relay.endpoint).toMatchObject({ host: '127.0.0.1', fingerprint256: relay.pin });
    expect(relay.endpoint.port).toBeGreaterThan(0);
    expect(relay.endpoint.secret).toBe((await readFile(relay.files.secret, 'utf8')).trim());
    expect(relay.endpoint.secret).toMatch(/^[A-Za-z0-9_-]{43}$/u);
    // ngsci's socket for the sandbox's user: the folder it is in decides who else reaches it.
    expect((await stat(relay.files.platformSocket)).mode & 0o777).toBe(0o666);
    expect(platformPathOf('http://127.0.0.1:8080/lantern/')).toBe('/lantern/platform');
    expect(platformPathOf('http://127.0.0.1:8080')).toBe('/platform');
  });

  it('carries a connection with the secret to the notebook’s socket', async () => {
    const before = jupyterConnections.count;
    const socket = await connectThrough(relay.endpoint);
    const bytes = Buffer.from('GET /api/status HTTP/1.1\r\n\r\n');
    expect(await roundTrip(socket, bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(jupyterConnections.count).toBe(before + 1);
  });

  it('refuses a wrong, empty, overlong or missing first line before the notebook is reached', async () => {
    const before = jupyterConnections.count;
    const secret = relay.endpoint.secret;
    const cases: [string, Buffer, boolean, string][] = [
      ['a wrong secret', Buffer.from(`${secret.slice(1)}x\n`), false, 'a wrong relay secret'],
      ['a longer secret', Buffer.from(`${secret}x\n`), false, 'a wrong relay secret'],
      ['an empty line', Buffer.from('\n'), false, 'a wrong relay secret'],
      ['no newline', Buffer.from(secret.repeat(20)), false, 'no newline in the first 512 bytes'],
      ['an end before the line', Buffer.from(secret), true, 'closed before its first line'],
    ];
    for (const [what, first, end, logged] of cases) {
      const answer = await sendRaw(relay.endpoint, first, end);
      expect(answer, what).toBe('');
      await until(`the relay logging ${logged}`, () =>
        Promise.resolve(relay.stderr().includes(logged) ? true : null),
      );
    }
    expect(jupyterConnections.count).toBe(before);
  });

  it('refuses to send anything to a relay whose certificate is not the pinned one', async () => {
    const other = `${relay.pin.slice(0, -2)}${relay.pin.endsWith('00') ? '01' : '00'}`;
    const before = jupyterConnections.count;
    const refused = connectThrough({ ...relay.endpoint, fingerprint256: other });
    await expect(refused).rejects.toThrow(RelayConnectError);
    await expect(refused).rejects.toThrow(
      `the relay at 127.0.0.1:${relay.endpoint.port} presented certificate ${relay.pin}, not the instance's ${other}`,
    );
    expect(jupyterConnections.count).toBe(before);
  });

  it('carries 32 MiB each way to the notebook, and to the platform from its socket', async () => {
    const bytes = randomBytes(32 * 1024 * 1024);
    const digest = createHash('sha256').update(bytes).digest('hex');
    expect(await roundTrip(await connectThrough(relay.endpoint), bytes)).toBe(digest);

    const before = platformConnections.count;
    const socket: Socket = netConnect({ path: relay.files.platformSocket });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    expect(await roundTrip(socket, bytes)).toBe(digest);
    expect(platformConnections.count).toBe(before + 1);
  }, 120_000);

  it('exits with the script that started it, and takes its socket and address with it', async () => {
    const wrapped = await startRelay(join(root, 'second'), true);
    const pid = await until('the relay’s pid', () => {
      const line = (wrapped.process.stdout?.read() as Buffer | null)?.toString('utf8').trim();
      return Promise.resolve(line === undefined || line === '' ? null : Number(line));
    });
    expect(pid).toBeGreaterThan(0);
    wrapped.process.kill('SIGKILL');
    await until('the relay gone', async () => {
      try {
        const state = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(' ')[2];
        return state === 'Z' ? true : null;
      } catch {
        return true;
      }
    });
    await expect(stat(wrapped.files.address)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(wrapped.files.platformSocket)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(connectThrough(wrapped.endpoint)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
