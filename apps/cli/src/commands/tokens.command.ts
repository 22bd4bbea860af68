import { isPermission, PERMISSIONS, type Permission } from '@lantern/core';
import type { ApiToken } from '@lantern/sdk';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, requireToken, resolveTarget } from '../connection.js';
import { describeExpiry, printTable } from './describe.js';

/** `lantern tokens list`: the signed-in person's tokens, the one in use marked. */
export async function listTokens(options: { server?: string; json?: boolean }): Promise<number> {
  const target = await resolveTarget(options.server);
  requireToken(target);
  const client = clientFor(target);
  let tokens: ApiToken[];
  let current: ApiToken;
  try {
    [tokens, current] = await Promise.all([client.listApiTokens(), client.getCurrentApiToken()]);
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    console.log(JSON.stringify({ tokens }, null, 2));
    return 0;
  }
  const rows = tokens.map((t) => [
    `${t.id === current.id ? '*' : ' '} ${t.id}`,
    t.name,
    t.scope.join(','),
    describeExpiry(t),
    t.lastUsedAt?.slice(0, 16).replace('T', ' ') ?? 'never',
  ]);
  printTable([['  ID', 'NAME', 'SCOPE', 'EXPIRES', 'LAST USED'], ...rows]);
  console.log('(* the token this CLI is using)');
  return 0;
}

/**
 * `lantern tokens create`: makes a token, at most as wide as the one in use (the server checks).
 * The secret goes alone to stdout, for scripts; everything said about it goes to stderr.
 */
export async function createToken(options: {
  server?: string;
  name: string;
  scope: string[];
  expiresInDays: string;
  json?: boolean;
}): Promise<number> {
  const scope = parseScope(options.scope);
  const expiresInDays = Number(options.expiresInDays);
  if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > 365) {
    throw new CliError(2, '--expires-in-days must be a whole number from 1 to 365');
  }
  const target = await resolveTarget(options.server);
  requireToken(target);
  let made: { token: string; info: ApiToken };
  try {
    made = await clientFor(target).createApiToken({ name: options.name, scope, expiresInDays });
  } catch (error) {
    throw describeFailure(error, target);
  }
  console.log(options.json === true ? JSON.stringify(made, null, 2) : made.token);
  console.error(
    `Made token ${made.info.name} (${made.info.id}) on ${target.server}: scope ${made.info.scope.join(', ')}, expires ${describeExpiry(made.info)}`,
  );
  console.error('This is the only time the token is shown: store it now.');
  return 0;
}

/** `lantern tokens revoke <id>`: revokes one of the signed-in person's tokens. */
export async function revokeToken(id: string, options: { server?: string }): Promise<number> {
  const target = await resolveTarget(options.server);
  requireToken(target);
  try {
    await clientFor(target).revokeApiToken(id);
  } catch (error) {
    throw describeFailure(error, target);
  }
  console.log(`Revoked token ${id} on ${target.server}`);
  const saved = target.credentials.servers[target.server];
  if (saved?.tokenId === id) {
    console.error('lantern: that was the saved token of this CLI: run lantern login');
  }
  return 0;
}

/** `--scope account,audit.read` or `--scope account audit.read`, checked against the closed list. */
function parseScope(values: readonly string[]): Permission[] {
  const names = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const unknown = names.filter((n) => !isPermission(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new CliError(
      2,
      `${unknown.length > 0 ? `unknown permission ${unknown.join(', ')}` : 'no permission given'}; choose from ${PERMISSIONS.join(', ')}`,
    );
  }
  return [...new Set(names.filter(isPermission))];
}
