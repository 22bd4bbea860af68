import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { status } from './commands/status.command.js';
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

const DEFAULT_SERVER = 'http://127.0.0.1:8080';

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
    .addOption(
      new Option('--server <url>', 'server URL').env('LANTERN_SERVER').default(DEFAULT_SERVER),
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { server: string; json?: boolean }) => {
      process.exitCode = await status(options);
    });

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  // commander has already printed usage errors and help; only its exit code is left to set.
  if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') {
    process.exitCode = error.exitCode;
  } else {
    console.error(`lantern: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
}
