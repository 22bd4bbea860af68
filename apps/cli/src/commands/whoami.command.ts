import type { ApiToken, SessionUser } from '@lantern/sdk';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, requireToken, resolveTarget } from '../connection.js';
import { describeExpiry, describeRoles, describeUser } from './describe.js';

/** `lantern whoami`: the person, roles and token the CLI acts as on the server. */
export async function whoami(options: { server?: string; json?: boolean }): Promise<number> {
  const target = await resolveTarget(options.server);
  const token = requireToken(target);
  const client = clientFor(target);
  let answers: [SessionUser | null, ApiToken];
  try {
    answers = await Promise.all([client.getSession(), client.getCurrentApiToken()]);
  } catch (error) {
    throw describeFailure(error, target);
  }
  const [user, info] = answers;
  if (user === null) {
    throw new CliError(1, `${target.server} does not know whose token this is`);
  }
  const source =
    token.source === 'LANTERN_TOKEN' ? 'from LANTERN_TOKEN' : `saved in ${target.credentialsFile}`;
  if (options.json === true) {
    console.log(
      JSON.stringify(
        { server: target.server, user, token: info, tokenSource: token.source },
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(`${describeUser(user)} on ${target.server}`);
  console.log(`  status   ${user.status}`);
  console.log(`  roles    ${describeRoles(user)}`);
  console.log(`  token    ${info.name} (${info.id}), ${source}`);
  console.log(`  scope    ${info.scope.join(', ')}`);
  console.log(`  expires  ${describeExpiry(info)}`);
  return 0;
}
