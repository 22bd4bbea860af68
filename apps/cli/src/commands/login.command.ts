import { isSecretOfKind } from '@lantern/core/identity';
import { ApiError, type ApiToken, type SessionUser } from '@lantern/sdk';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, readEnvironment, resolveTarget } from '../connection.js';
import { writeCredentials } from '../credentials.js';
import { promptHidden, readStdin } from '../prompt.js';
import { describeExpiry, describeRoles, describeUser } from './describe.js';

/**
 * `lantern login`: takes an API token (hidden prompt, or stdin with --with-token), asks the server
 * whose it is, and only then saves it for that server. A refused token saves nothing.
 */
export async function login(options: { server?: string; withToken?: boolean }): Promise<number> {
  const environment = readEnvironment();
  // LANTERN_TOKEN is not what is being saved; resolve the server without it.
  const target = await resolveTarget(options.server, { ...environment, token: undefined });
  const { server } = target;

  let secret: string;
  if (options.withToken === true) {
    secret = (await readStdin()).trim();
  } else if (process.stdin.isTTY) {
    secret = (
      await promptHidden(`Paste an API token for ${server} (make one at ${server}/account): `)
    ).trim();
  } else {
    throw new CliError(2, 'stdin is not a terminal: pipe the token in with --with-token');
  }
  if (secret === '') {
    throw new CliError(2, 'no token given; nothing was saved');
  }
  if (!isSecretOfKind(secret, 'api_token')) {
    throw new CliError(
      1,
      'that is not a Lantern API token (they start with lnt_); nothing was saved',
    );
  }
  if (!isLoopback(new URL(server).hostname) && server.startsWith('http:')) {
    console.error(`lantern: warning: ${server} is plain http; the token travels unencrypted`);
  }

  const { user, token } = await checkToken(server, secret);

  target.credentials.servers[server] = {
    token: secret,
    tokenId: token.id,
    tokenName: token.name,
    user: user.email,
    savedAt: new Date().toISOString(),
  };
  await writeCredentials(target.credentialsFile, target.credentials);

  console.log(`Signed in to ${server} as ${describeUser(user)}`);
  console.log(`  roles    ${describeRoles(user)}`);
  console.log(`  token    ${token.name} (${token.id})`);
  console.log(`  scope    ${token.scope.join(', ')}`);
  console.log(`  expires  ${describeExpiry(token)}`);
  console.log(`  saved in ${target.credentialsFile}`);
  if (environment.token !== undefined) {
    console.error(
      'lantern: note: LANTERN_TOKEN is set and is used instead of the saved token until you unset it',
    );
  }
  return 0;
}

/** Whose token this is, by asking the server; a refusal is a one-line error. */
async function checkToken(
  server: string,
  secret: string,
): Promise<{ user: SessionUser; token: ApiToken }> {
  const client = clientFor({ server, token: { secret, source: 'credentials' } });
  let answers: [SessionUser | null, ApiToken];
  try {
    answers = await Promise.all([client.getSession(), client.getCurrentApiToken()]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      throw new CliError(
        1,
        `${server} refused this token (invalid, expired or revoked); nothing was saved`,
      );
    }
    const failure = describeFailure(error, { server, token: null });
    throw new CliError(failure.exitCode, `${failure.message}; nothing was saved`);
  }
  const [user, token] = answers;
  if (user === null) {
    throw new CliError(1, `${server} does not know whose token this is; nothing was saved`);
  }
  return { user, token };
}

/** Loopback names, where plain http never leaves the machine. */
function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/u.test(hostname)
  );
}
