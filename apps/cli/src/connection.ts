import { ApiError, createLanternClient, type LanternClient } from '@lantern/sdk';
import { CliError } from './cli-error.js';
import {
  credentialsPath,
  normalizeServerUrl,
  readCredentials,
  type Credentials,
} from './credentials.js';

/** Where `lantern start` listens unless told otherwise. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** Where a token came from, for messages (never the token itself). */
export type TokenSource = 'LANTERN_TOKEN' | 'credentials';

/** The server a command talks to, and the token it sends, if any. */
export interface Target {
  server: string;
  token: { secret: string; source: TokenSource } | null;
  credentialsFile: string;
  credentials: Credentials;
}

/**
 * The one place the CLI reads its environment: `LANTERN_SERVER`, `LANTERN_TOKEN` and
 * `XDG_CONFIG_HOME` (through credentialsPath).
 */
export interface CliEnvironment {
  server: string | undefined;
  token: string | undefined;
  credentialsFile: string;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const nonEmpty = (value: string | undefined) =>
    value === undefined || value.trim() === '' ? undefined : value.trim();
  return {
    server: nonEmpty(env['LANTERN_SERVER']),
    token: nonEmpty(env['LANTERN_TOKEN']),
    credentialsFile: credentialsPath(env),
  };
}

/**
 * Which server: `--server` > `LANTERN_SERVER` > the one server stored in the credentials file >
 * the local default. Which token: `LANTERN_TOKEN` > the one stored for that server.
 */
export async function resolveTarget(
  serverFlag: string | undefined,
  environment: CliEnvironment = readEnvironment(),
): Promise<Target> {
  const credentials = await readCredentials(environment.credentialsFile);
  const stored = Object.keys(credentials.servers);
  let server: string;
  if (serverFlag !== undefined) {
    server = normalizeServerUrl(serverFlag);
  } else if (environment.server !== undefined) {
    server = normalizeServerUrl(environment.server);
  } else if (stored.length > 1) {
    throw new CliError(
      2,
      `you are signed in to several servers (${stored.join(', ')}); choose one with --server or LANTERN_SERVER`,
    );
  } else {
    server = stored[0] ?? DEFAULT_SERVER;
  }
  const saved = credentials.servers[server];
  const token =
    environment.token !== undefined
      ? { secret: environment.token, source: 'LANTERN_TOKEN' as const }
      : saved === undefined
        ? null
        : { secret: saved.token, source: 'credentials' as const };
  return { server, token, credentialsFile: environment.credentialsFile, credentials };
}

/** An SDK client for the target, sending its token (if any) as `Authorization: Bearer`. */
export function clientFor(target: Pick<Target, 'server' | 'token'>): LanternClient {
  return createLanternClient({
    baseUrl: target.server,
    ...(target.token === null ? {} : { token: target.token.secret }),
  });
}

/** The target's token, or a one-line error saying how to get one. */
export function requireToken(target: Target): { secret: string; source: TokenSource } {
  if (target.token === null) {
    throw new CliError(1, `you are not signed in to ${target.server}: run lantern login`);
  }
  return target.token;
}

/**
 * A failed call as a one-line CliError. The messages name the server and what the server said,
 * never the token (the SDK's errors carry no request headers).
 */
export function describeFailure(
  error: unknown,
  target: Pick<Target, 'server' | 'token'>,
): CliError {
  if (error instanceof CliError) {
    return error;
  }
  if (error instanceof ApiError) {
    if (error.status === 401 && target.token !== null) {
      return new CliError(
        1,
        target.token.source === 'LANTERN_TOKEN'
          ? 'your token (LANTERN_TOKEN) was refused (revoked or expired): set another, or unset LANTERN_TOKEN and run lantern login'
          : 'your token was refused (revoked or expired): run lantern login',
      );
    }
    return new CliError(1, `${target.server} answered ${error.status}: ${error.problem.detail}`);
  }
  return new CliError(2, `cannot reach ${target.server} (${failureReason(error)}); is it running?`);
}

/** Why a request got no answer, or lost it midway, as fetch says it (its cause is the socket's). */
export function failureReason(error: unknown): string {
  if (error instanceof Error) {
    return error.cause instanceof Error ? error.cause.message : error.message;
  }
  return String(error);
}
