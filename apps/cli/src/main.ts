import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { CliError } from './cli-error.js';
import { login } from './commands/login.command.js';
import { logout } from './commands/logout.command.js';
import { status } from './commands/status.command.js';
import { createToken, listTokens, revokeToken } from './commands/tokens.command.js';
import { whoami } from './commands/whoami.command.js';
import { DEFAULT_SERVER } from './connection.js';
import { localFlags, runServer } from './server-process.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as {
  version: string;
};

const dataDirOption = () =>
  // No commander defaults: an absent flag leaves the LANTERN_* variable (or the server's default) in charge.
  new Option(
    '--data-dir <dir>',
    'data directory: PGlite database, local objects (default: ./.lantern)',
  );

const serverOption = () =>
  // No commander env or default: resolveTarget applies LANTERN_SERVER and the saved server.
  new Option(
    '--server <url>',
    `server URL (default: $LANTERN_SERVER, else the server you are signed in to, else ${DEFAULT_SERVER})`,
  );

const SIGNED_IN_HELP = `
The token: $LANTERN_TOKEN if set, else the one lantern login saved for the server.`;

/** Builds the `lantern` command tree. */
export function buildProgram(): Command {
  const program = new Command('lantern')
    .description('Lantern: secure research on de-identified health data')
    .version(version, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('start the platform: API, web app and background workers')
    .addOption(dataDirOption())
    .addOption(new Option('--port <n>', 'port to listen on, 0 for any free port (default: 8080)'))
    .addOption(new Option('--host <host>', 'address to listen on (default: 127.0.0.1)'))
    .addHelpText(
      'after',
      '\nEnvironment: LANTERN_DATABASE_URL (PostgreSQL instead of PGlite), LANTERN_LOG_LEVEL and the other\nLANTERN_* variables in the README. Flags win over variables.',
    )
    .action(async (options: { dataDir?: string; port?: string; host?: string }) => {
      process.exitCode = await runServer(['start', ...localFlags(options)]);
    });

  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description(
      'recompute the hash chain; exit 1 naming the first bad seq if any event was altered',
    )
    .addOption(dataDirOption())
    .action(async (options: { dataDir?: string }) => {
      process.exitCode = await runServer(['audit-verify', ...localFlags(options)]);
    });

  program
    .command('status')
    .description("print a running server's health")
    .addOption(serverOption())
    .option('--json', 'print the report as JSON')
    .action(async (options: { server?: string; json?: boolean }) => {
      process.exitCode = await status(options);
    });

  program
    .command('login')
    .description('save an API token for a server, after checking with the server whose it is')
    .addOption(serverOption())
    .option('--with-token', 'read the token from stdin (for scripts) instead of a hidden prompt')
    .addHelpText(
      'after',
      `
Make a token on the server's Account page (/account). It is saved in
$XDG_CONFIG_HOME/lantern/credentials.json (default ~/.config/lantern), readable only by you,
one entry per server. Example: lantern login --server https://lantern.example.org --with-token < token.txt`,
    )
    .action(async (options: { server?: string; withToken?: boolean }) => {
      process.exitCode = await login(options);
    });

  program
    .command('logout')
    .description('forget the token saved for a server')
    .addOption(serverOption())
    .option('--revoke', 'revoke the token on the server first, so that no copy of it works')
    .action(async (options: { server?: string; revoke?: boolean }) => {
      process.exitCode = await logout(options);
    });

  program
    .command('whoami')
    .description('print who you are signed in as: user, roles, token name, scope and expiry')
    .addOption(serverOption())
    .option('--json', 'print it as JSON')
    .addHelpText('after', SIGNED_IN_HELP)
    .action(async (options: { server?: string; json?: boolean }) => {
      process.exitCode = await whoami(options);
    });

  const tokens = program
    .command('tokens')
    .description('your API tokens on the server')
    .addHelpText('after', SIGNED_IN_HELP);
  tokens
    .command('list')
    .description('list your tokens (never their secrets), the one in use marked')
    .addOption(serverOption())
    .option('--json', 'print them as JSON')
    .action(async (options: { server?: string; json?: boolean }) => {
      process.exitCode = await listTokens(options);
    });
  tokens
    .command('create')
    .description(
      'make a token, at most as wide as the one in use; prints its secret once, on stdout',
    )
    .addOption(serverOption())
    .requiredOption('--name <name>', 'what the token is for, e.g. "nightly export"')
    .requiredOption(
      '--scope <permissions...>',
      'permissions it may use, comma or space separated (e.g. public,account)',
    )
    .option('--expires-in-days <n>', 'days until it stops working, 1 to 365', '90')
    .option('--json', 'print the secret and the token as JSON')
    .action(
      async (options: {
        server?: string;
        name: string;
        scope: string[];
        expiresInDays: string;
        json?: boolean;
      }) => {
        process.exitCode = await createToken(options);
      },
    );
  tokens
    .command('revoke')
    .description('revoke one of your tokens by its id (tok_…)')
    .argument('<id>', 'the token id, as tokens list shows it')
    .addOption(serverOption())
    .action(async (id: string, options: { server?: string }) => {
      process.exitCode = await revokeToken(id, options);
    });

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  // commander has already printed usage errors and help; only its exit code is left to set.
  if (error instanceof CliError) {
    console.error(`lantern: ${error.message}`);
    process.exitCode = error.exitCode;
  } else if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') {
    process.exitCode = error.exitCode;
  } else {
    console.error(`lantern: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
}
