import { ApiError } from '@lantern/sdk';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, readEnvironment, resolveTarget } from '../connection.js';
import { writeCredentials } from '../credentials.js';

/**
 * `lantern logout`: forgets the token stored for the server; with --revoke, revokes it on the
 * server first (and keeps it if the server cannot be reached, so nothing is lost by accident).
 */
export async function logout(options: { server?: string; revoke?: boolean }): Promise<number> {
  const environment = readEnvironment();
  const target = await resolveTarget(options.server, { ...environment, token: undefined });
  const saved = target.credentials.servers[target.server];
  if (saved === undefined) {
    throw new CliError(1, `no token is saved for ${target.server}; nothing to forget`);
  }
  let revoked = false;
  if (options.revoke === true) {
    const token = { secret: saved.token, source: 'credentials' as const };
    try {
      await clientFor({ server: target.server, token }).revokeCurrentApiToken();
      revoked = true;
    } catch (error) {
      // Refused means revoked or expired already: there is nothing left to revoke.
      if (!(error instanceof ApiError && error.status === 401)) {
        const failure = describeFailure(error, { server: target.server, token });
        throw new CliError(
          failure.exitCode,
          `${failure.message}; the token was not revoked and is still saved (lantern logout without --revoke forgets it anyway)`,
        );
      }
    }
  }
  delete target.credentials.servers[target.server];
  await writeCredentials(target.credentialsFile, target.credentials);
  console.log(
    revoked
      ? `Revoked token ${saved.tokenName} (${saved.tokenId}) on ${target.server} and forgot it`
      : `Forgot token ${saved.tokenName} (${saved.tokenId}) for ${target.server}${
          options.revoke === true ? ' (the server had already stopped accepting it)' : ''
        }`,
  );
  if (environment.token !== undefined) {
    console.error('lantern: note: LANTERN_TOKEN is still set, and commands still use it');
  }
  return 0;
}
