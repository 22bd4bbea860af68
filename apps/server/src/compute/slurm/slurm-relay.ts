/**
 * The server's side of a Slurm job's relay (issue 8), for clusters whose jobs run on other nodes
 * than the server's (LANTERN_SLURM_RELAY): the files the relay needs in the instance's folder (a
 * self-signed certificate and its key made here with `openssl`, a relay secret, all 0600 in
 * relay/, mode 0700), the relay's command line for the batch script (python/slurm-relay.py, run
 * by Debian's python3 outside the sandbox), and the address it writes once it listens, read back
 * into the endpoint the proxy and the probe connect to (notebook-connector.ts).
 *
 * The handle keeps only the certificate's fingerprint (the pin); the secret stays in the folder,
 * as Jupyter's token does.
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { RelayEndpoint } from '../compute-backend.js';
import { PYTHON } from '../sandbox-command.js';

const exec = promisify(execFile);

export const OPENSSL = '/usr/bin/openssl';
/** The relay's script, in the folder that holds python/ngsci. */
export const RELAY_SCRIPT_NAME = 'slurm-relay.py';
/** Days the certificate is valid: far longer than any instance runs (it is made per launch). */
const CERTIFICATE_DAYS = 400;

/** Where a relay's files are, in an instance's folder. */
export interface RelayFiles {
  /** relay/ (0700): what only the server and the job's user may read. */
  dir: string;
  cert: string;
  key: string;
  secret: string;
  /** Written by the relay once it listens: {"host", "port", "fingerprint256"}. */
  address: string;
  /** The relay's end of ngsci's socket; its folder (platform/) is bound at /run/lantern. */
  platformSocket: string;
}

/** What the server needs of a relay: where it binds, and where ngsci's calls go. */
export interface RelaySettings {
  /** The address the relay listens on, on the compute node (0.0.0.0: all, advertised by name). */
  bind: string;
  /** The server's own URL as the compute nodes reach it; ngsci's calls go to its /platform. */
  platformUrl: string;
}

export class RelaySetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelaySetupError';
  }
}

export function relayFiles(folder: string): RelayFiles {
  const dir = join(folder, 'relay');
  return {
    dir,
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    secret: join(dir, 'secret'),
    address: join(dir, 'address.json'),
    platformSocket: join(folder, 'platform', 'platform.sock'),
  };
}

/**
 * Makes relay/ with a fresh P-256 certificate and key (openssl, no passphrase: the relay reads it
 * unattended) and a 256-bit secret, all 0600; platform/ (0755) for ngsci's socket. Returns the
 * certificate's SHA-256 fingerprint, the pin.
 */
export async function prepareRelay(
  files: RelayFiles,
  instanceId: string,
): Promise<{ fingerprint256: string }> {
  await mkdir(files.dir, { mode: 0o700 });
  await chmod(files.dir, 0o700);
  await mkdir(join(files.platformSocket, '..'), { mode: 0o755 });
  try {
    await exec(
      OPENSSL,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        files.key,
        '-out',
        files.cert,
        '-days',
        String(CERTIFICATE_DAYS),
        '-subj',
        `/CN=lantern-relay-${instanceId}`,
      ],
      { env: { PATH: '/usr/bin:/bin' }, timeout: 30_000 },
    );
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new RelaySetupError(`openssl could not make the relay's certificate: ${why}`);
  }
  await chmod(files.key, 0o600);
  await chmod(files.cert, 0o600);
  await writeFile(files.secret, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const certificate = new X509Certificate(await readFile(files.cert));
  return { fingerprint256: certificate.fingerprint256 };
}

/** The path prefix of the platform's calls on the server (`/platform` under the URL's path). */
export function platformPathOf(platformUrl: string): string {
  return `${new URL(platformUrl).pathname.replace(/\/+$/u, '')}/platform`;
}

/**
 * The relay's argv for the batch script, which adds `--parent $$` (the script's own pid, so the
 * relay exits with the job) and runs it in the background before the sandbox.
 */
export function relayArgs(
  files: RelayFiles,
  settings: RelaySettings,
  paths: { pythonLib: string; jupyterSocket: string },
): string[] {
  const origin = new URL(settings.platformUrl);
  return [
    PYTHON,
    join(paths.pythonLib, RELAY_SCRIPT_NAME),
    `--cert=${files.cert}`,
    `--key=${files.key}`,
    `--secret-file=${files.secret}`,
    `--address-file=${files.address}`,
    `--bind=${settings.bind}`,
    `--jupyter-socket=${paths.jupyterSocket}`,
    `--platform-socket=${files.platformSocket}`,
    // Only the origin: the relay carries bytes, and ngsci puts the path in its requests.
    `--platform-url=${origin.protocol}//${origin.host}`,
  ];
}

const addressSchema = z.object({
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535),
  fingerprint256: z.string().regex(/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/u),
});

/** What the relay's address file says, read against the handle's pin. */
export type RelayAddress =
  | { state: 'listening'; endpoint: RelayEndpoint }
  | { state: 'not-yet' }
  | { state: 'wrong'; reason: string };

/** The relay's endpoint once it has written its address (with the secret from the folder). */
export async function readRelayAddress(
  files: RelayFiles,
  fingerprint256: string,
): Promise<RelayAddress> {
  let text: string;
  let secret: string;
  try {
    text = await readFile(files.address, 'utf8');
    secret = (await readFile(files.secret, 'utf8')).trim();
  } catch {
    return { state: 'not-yet' };
  }
  let parsed;
  try {
    parsed = addressSchema.safeParse(JSON.parse(text));
  } catch {
    return { state: 'wrong', reason: `the relay's address file ${files.address} is not JSON` };
  }
  if (!parsed.success) {
    return { state: 'wrong', reason: `the relay's address file ${files.address} is not one` };
  }
  if (parsed.data.fingerprint256 !== fingerprint256) {
    return {
      state: 'wrong',
      reason: `the relay serves certificate ${parsed.data.fingerprint256}, not the instance's ${fingerprint256}`,
    };
  }
  return { state: 'listening', endpoint: { ...parsed.data, secret } };
}
