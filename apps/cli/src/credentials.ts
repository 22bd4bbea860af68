import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { CliError } from './cli-error.js';
import { writePrivateJson } from './private-file.js';

/** What is kept for one server: the token and who it belonged to when saved. */
export interface StoredCredential {
  token: string;
  tokenId: string;
  tokenName: string;
  user: string;
  savedAt: string;
}

/** The credentials file: one entry per server URL. */
export interface Credentials {
  servers: Record<string, StoredCredential>;
}

/**
 * Where credentials live: `$XDG_CONFIG_HOME/lantern/credentials.json`, `~/.config` when the
 * variable is unset, empty or relative (XDG Base Directory Specification: relative paths are
 * invalid and must be ignored).
 */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const configHome = env['XDG_CONFIG_HOME'];
  const base =
    configHome !== undefined && configHome !== '' && isAbsolute(configHome)
      ? configHome
      : join(homedir(), '.config');
  return join(base, 'lantern', 'credentials.json');
}

/**
 * The server URL as it is stored and compared: http(s) only, no credentials, query or fragment,
 * no trailing slash.
 */
export function normalizeServerUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new CliError(2, `${input} is not a URL; give the server as http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(2, `${input} is not an http:// or https:// URL`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new CliError(2, `give the server URL without credentials, query or fragment`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/u, '')}`;
}

function isStoredCredential(value: unknown): value is StoredCredential {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const fields = new Map<string, unknown>(Object.entries(value));
  return ['token', 'tokenId', 'tokenName', 'user', 'savedAt'].every(
    (key) => typeof fields.get(key) === 'string',
  );
}

/** Reads the credentials file; none yet is an empty store, a damaged one is an error. */
export async function readCredentials(path: string): Promise<Credentials> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      return { servers: {} };
    }
    const code = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new CliError(2, `cannot read ${path} (${code})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(2, `${path} is not valid JSON; delete it and run lantern login`);
  }
  const servers =
    typeof parsed === 'object' && parsed !== null && 'servers' in parsed
      ? parsed.servers
      : undefined;
  if (typeof servers !== 'object' || servers === null) {
    throw new CliError(
      2,
      `${path} is not a Lantern credentials file; delete it and run lantern login`,
    );
  }
  const result: Credentials = { servers: {} };
  for (const [server, entry] of Object.entries(servers)) {
    if (isStoredCredential(entry)) {
      result.servers[server] = entry;
    }
  }
  return result;
}

/**
 * Writes the credentials file readable by its owner only (0600) in a directory only its owner
 * can enter (0700). The new content goes to a private temporary file first and is renamed over
 * the old, so a crash never leaves half a file or a moment of wider permissions.
 */
export async function writeCredentials(path: string, credentials: Credentials): Promise<void> {
  await writePrivateJson(path, 'credentials', credentials);
}
