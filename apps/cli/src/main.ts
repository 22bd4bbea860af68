import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { MODALITIES, type Modality } from '@lantern/core/catalog';
import { CliError } from './cli-error.js';
import { listDatasets, publishDataset, showDataset } from './commands/datasets.command.js';
import {
  createProject,
  inviteToProject,
  listMembers,
  listProjects,
  showSpend,
} from './commands/projects.command.js';
import {
  demoSlugs,
  demoWorkers,
  generateDemo,
  type DemoGenerateFlags,
} from './commands/demo.command.js';
import { ingestRemote } from './commands/ingest.command.js';
import { inspect } from './commands/inspect.command.js';
import { login } from './commands/login.command.js';
import { decidePhi, listPhi } from './commands/phi.command.js';
import {
  decideRelease,
  downloadRelease,
  listReleases,
  releaseQueue,
  showRelease,
  withdrawRelease,
} from './commands/releases.command.js';
import { logout } from './commands/logout.command.js';
import { status } from './commands/status.command.js';
import { createToken, listTokens, revokeToken } from './commands/tokens.command.js';
import { whoami } from './commands/whoami.command.js';
import { DEFAULT_SERVER } from './connection.js';
import { INTERRUPTED, localFlags, runServer } from './server-process.js';

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

/** `publish <slug>`'s arguments, options and action, on `command`. */
function publishCommand(command: Command): Command {
  return command
    .description(
      'publish the draft: prints the version its changes make, why, the change log and every problem, then asks',
    )
    .argument('<slug>', 'the dataset whose draft to publish')
    .addOption(serverOption())
    .option('--notes <text>', "the curator's notes, beside the generated change log")
    .option('--version <v>', 'the version you expect; refused unless it is the computed one')
    .option('--yes', 'publish without asking (needed when stdin is not a terminal)')
    .addHelpText(
      'after',
      `${SIGNED_IN_HELP} It needs the catalog.curate permission.
Exit codes: 0 published; 1 refused (blocking problems, another version, a no at the prompt);
2 not run (no terminal to ask on and no --yes, an unreachable server).`,
    )
    .action(
      async (
        slug: string,
        options: { server?: string; notes?: string; version?: string; yes?: boolean },
      ) => {
        process.exitCode = await publishDataset(slug, options);
      },
    );
}

/** Builds the `lantern` command tree. */
export function buildProgram(): Command {
  const program = new Command('lantern')
    .description('Lantern: secure research on de-identified health data')
    .version(version, '-V, --version')
    .showHelpAfterError()
    // `lantern --version` is the program's; `datasets show --version 1.1` is the subcommand's own.
    .enablePositionalOptions()
    .exitOverride();

  program
    .command('start')
    .description('start the platform: API, web app and background workers')
    .addOption(dataDirOption())
    .addOption(new Option('--port <n>', 'port to listen on, 0 for any free port (default: 8080)'))
    .addOption(new Option('--host <host>', 'address to listen on (default: 127.0.0.1)'))
    .option(
      '--no-demo',
      'do not generate the demo catalogue on the first start of an empty catalog',
    )
    .addHelpText(
      'after',
      '\nEnvironment: LANTERN_DATABASE_URL (PostgreSQL instead of PGlite), LANTERN_LOG_LEVEL and the other\nLANTERN_* variables in the README. Flags win over variables.',
    )
    .action(async (options: { dataDir?: string; port?: string; host?: string; demo?: boolean }) => {
      process.exitCode = await runServer([
        'start',
        ...localFlags(options),
        ...(options.demo === false ? ['--no-demo'] : []),
      ]);
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

  const datasets = program
    .command('datasets')
    .description('the catalog: datasets, their documentation and versions (never their data)');
  datasets
    .command('list')
    .description('list the catalog; anyone may (a curator also sees datasets with only a draft)')
    .addOption(serverOption())
    .option('--q <text>', 'search titles, problems, tags and column names')
    .option('--category <slug>', 'only this category, e.g. ecg-waveforms')
    .addOption(
      new Option('--modality <kind>', 'only datasets holding this kind of data').choices(
        MODALITIES,
      ),
    )
    .option('--json', 'print them as JSON')
    .action(
      async (options: {
        server?: string;
        q?: string;
        category?: string;
        modality?: Modality;
        json?: boolean;
      }) => {
        process.exitCode = await listDatasets(options);
      },
    );
  datasets
    .command('show')
    .description(
      'print a dataset, its versions, and one version: tables with their columns, change log',
    )
    .argument('<slug>', 'the dataset, as datasets list shows it')
    .addOption(serverOption())
    .option('--version <v>', 'the version to describe, e.g. 1.1 (default: the latest published)')
    .option('--json', 'print it as JSON')
    .action(
      async (slug: string, options: { server?: string; version?: string; json?: boolean }) => {
        process.exitCode = await showDataset(slug, options);
      },
    );
  publishCommand(datasets.command('publish'));

  const projects = program
    .command('projects')
    .description('your projects: their members and the datasets they use')
    .addHelpText('after', SIGNED_IN_HELP);
  projects
    .command('list')
    .description('list the projects you are a member of, with your role in each')
    .addOption(serverOption())
    .option('--json', 'print them as JSON')
    .action(async (options: { server?: string; json?: boolean }) => {
      process.exitCode = await listProjects(options);
    });
  projects
    .command('create')
    .description(
      'create a project you own; open datasets attach at once, approval ones go to a reviewer',
    )
    .addOption(serverOption())
    .requiredOption('--title <text>', 'the title, one line')
    .requiredOption('--purpose <text>', 'the research purpose, shown to reviewers and partners')
    .option('--dataset <slug@version...>', 'dataset versions it needs, e.g. demo-arrest-ecg@1.0')
    .option('--json', 'print the project as JSON')
    .action(
      async (options: {
        server?: string;
        title: string;
        purpose: string;
        dataset?: string[];
        json?: boolean;
      }) => {
        process.exitCode = await createProject(options);
      },
    );
  projects
    .command('invite')
    .description('invite someone by email (owners); the link works once, for seven days')
    .argument('<project>', 'the project id (prj_…), as projects list shows it')
    .argument('<email>', 'their address; without an account they register with it first')
    .addOption(serverOption())
    .option('--role <role>', 'owner, editor or viewer', 'viewer')
    .option('--json', 'print the invitation as JSON')
    .action(
      async (
        project: string,
        email: string,
        options: { server?: string; role: string; json?: boolean },
      ) => {
        process.exitCode = await inviteToProject(project, email, options);
      },
    );
  projects
    .command('members')
    .description("list a project's members with their roles, and who is invited")
    .argument('<project>', 'the project id (prj_…)')
    .addOption(serverOption())
    .option('--json', 'print members and invitations as JSON')
    .action(async (project: string, options: { server?: string; json?: boolean }) => {
      process.exitCode = await listMembers(project, options);
    });
  projects
    .command('spend')
    .description(
      "what a project's instances cost: the total, what runs now and its rate, per type, member and day",
    )
    .argument('<project>', 'the project id (prj_…)')
    .addOption(serverOption())
    .option(
      '--from <date>',
      'from this date (UTC) or date and time; 30 days before --to by default',
    )
    .option('--to <date>', 'up to this date (UTC, not included) or date and time; now by default')
    .option('--json', 'print the spend as JSON')
    .action(
      async (
        project: string,
        options: { server?: string; from?: string; to?: string; json?: boolean },
      ) => {
        process.exitCode = await showSpend(project, options);
      },
    );

  const releases = program
    .command('releases')
    .description(
      'the airlock: release requests of results made in instances (ngsci.request_release), their review and download',
    )
    .addHelpText('after', SIGNED_IN_HELP);
  releases
    .command('list')
    .description("list a project's release requests, newest first (its members)")
    .requiredOption('--project <id>', 'the project id (prj_…)')
    .option('--state <state>', 'only these: pending, approved, rejected or withdrawn')
    .addOption(serverOption())
    .option('--json', 'print them as JSON')
    .action(
      async (options: { project: string; state?: string; server?: string; json?: boolean }) => {
        process.exitCode = await listReleases(options);
      },
    );
  releases
    .command('queue')
    .description('list the requests waiting for a decision, oldest first (reviewers)')
    .addOption(serverOption())
    .option('--json', 'print them as JSON')
    .action(async (options: { server?: string; json?: boolean }) => {
      process.exitCode = await releaseQueue(options);
    });
  releases
    .command('show')
    .description('print a request: its purpose, files, sizes, disclosure checks and decision')
    .argument('<id>', 'the request id (rel_…)')
    .addOption(serverOption())
    .option('--json', 'print it as JSON')
    .action(async (id: string, options: { server?: string; json?: boolean }) => {
      process.exitCode = await showRelease(id, options);
    });
  releases
    .command('download')
    .description(
      "download an approved request's files, each checked against its SHA-256 and written whole or not at all",
    )
    .argument('<id>', 'the request id (rel_…)')
    .option('--out <dir>', 'where to write them (default: the current folder)')
    .option('--file <name>', 'only this file of the request')
    .option('--force', 'replace files that exist (otherwise nothing is downloaded)')
    .addOption(serverOption())
    .action(
      async (
        id: string,
        options: { server?: string; out?: string; file?: string; force?: boolean },
      ) => {
        process.exitCode = await downloadRelease(id, options);
      },
    );
  releases
    .command('decide')
    .description(
      'approve or reject a pending request with a reason its project reads (reviewers; not your own)',
    )
    .argument('<id>', 'the request id (rel_…)')
    .option('--approve', 'approve it: its files may then be downloaded by the project')
    .option('--reject', 'reject it')
    .requiredOption('--reason <text>', 'why, for the requester and the project')
    .addOption(serverOption())
    .option('--json', 'print the decided request as JSON')
    .action(
      async (
        id: string,
        options: {
          server?: string;
          approve?: boolean;
          reject?: boolean;
          reason: string;
          json?: boolean;
        },
      ) => {
        process.exitCode = await decideRelease(id, options);
      },
    );
  releases
    .command('withdraw')
    .description('withdraw a pending request (its requester, or an owner of the project)')
    .argument('<id>', 'the request id (rel_…)')
    .option('--yes', 'withdraw without asking (needed when stdin is not a terminal)')
    .addOption(serverOption())
    .addHelpText(
      'after',
      'Exit codes: 0 withdrawn; 1 refused (not pending, not yours, a no at the prompt); 2 not run.',
    )
    .action(async (id: string, options: { server?: string; yes?: boolean }) => {
      process.exitCode = await withdrawRelease(id, options);
    });

  const phi = program
    .command('phi')
    .description("a draft's PHI review: the scan's findings and the files held back (curators)");
  phi
    .command('list')
    .description('print the findings (masked) and held files of a draft, with their decisions')
    .argument('<slug>', 'the dataset whose draft an ingest made')
    .addOption(serverOption())
    .option('--json', 'print the review as JSON')
    .action(async (slug: string, options: { server?: string; json?: boolean }) => {
      process.exitCode = await listPhi(slug, options);
    });
  const many = (value: string, previous: string[] = []) => [...previous, value];
  phi
    .command('decide')
    .description('decide PHI findings and held files, as the draft page does')
    .argument('<slug>', 'the dataset whose draft an ingest made')
    .addOption(serverOption())
    .option('--drop <table.column>', 'drop a column a finding names (repeatable)', many)
    .option('--confirm <finding>', 'confirm a finding is not PHI (repeatable; needs --note)', many)
    .option(
      '--release <file>',
      'release a held file (its id, held_…, or its path) into the draft (repeatable; needs --note)',
      many,
    )
    .option(
      '--exclude <file>',
      'exclude a held file (id or path); its cells are emptied (repeatable)',
      many,
    )
    .option('--note <text>', 'why: required to confirm or release')
    .action(
      async (
        slug: string,
        options: {
          server?: string;
          drop?: string[];
          confirm?: string[];
          release?: string[];
          exclude?: string[];
          note?: string;
        },
      ) => {
        process.exitCode = await decidePhi(slug, options);
      },
    );
  program
    .command('ingest')
    .description(
      "ingest a partner's delivery (delivery.yaml, tables, files) into its dataset's draft, de-identified",
    )
    .argument('<dir>', 'the delivery folder, with delivery.yaml')
    .addOption(dataDirOption())
    .addOption(
      new Option(
        '--server <url>',
        "send the delivery to this running server instead (a curator's token: $LANTERN_TOKEN or lantern login's)",
      ).conflicts('dataDir'),
    )
    .addOption(
      new Option(
        '--resume <id>',
        'with --server: send the rest of this upload (upl_…) instead of declaring the delivery anew',
      ).conflicts('dataDir'),
    )
    .option('--json', 'print the draft made (or the problems) as one JSON object')
    .addHelpText(
      'after',
      `
Without --server it runs against the data directory of a local installation, with the server
stopped (PGlite allows one process; on PostgreSQL, LANTERN_DATABASE_URL, it runs beside it). With
--server URL the folder's files are uploaded to that server, which ingests them the same way and
deletes its copy when the run ends (it needs the catalog.curate permission). The files go in
chunks, a few at a time; a dropped connection or a server away for a moment is retried from what
the server holds, and a command stopped half-way (killed, the network gone) started again sends
only the rest: the upload begun for the folder is remembered until it runs (--resume ID names one).
Progress (phase, files, bytes, rate, time left) goes to stderr: a bar on a terminal, plain lines
elsewhere, none with --json. It prints the draft made: tables with rows and columns, files stored,
deduplicated and held back (with why), PHI findings with masked examples, what blocks publication
and the command to run next.
Exit codes: 0 a draft was made; 1 the delivery was refused (every problem printed, nothing stored);
2 not run (no such folder, the data directory in use by a running server, no server there);
130 stopped with Ctrl-C (it says what was kept: run the same command again to go on).`,
    )
    .action(
      async (
        dir: string,
        options: { dataDir?: string; server?: string; json?: boolean; resume?: string },
      ) => {
        if (options.server !== undefined) {
          process.exitCode = await ingestRemote(dir, {
            server: options.server,
            ...(options.json === undefined ? {} : { json: options.json }),
            ...(options.resume === undefined ? {} : { resume: options.resume }),
          });
          return;
        }
        if (options.resume !== undefined) {
          throw new CliError(2, '--resume goes with --server: it resumes an upload to a server');
        }
        const code = await runServer([
          'ingest',
          dir,
          ...localFlags(options),
          ...(options.json === true ? ['--json'] : []),
        ]);
        if (code === INTERRUPTED) {
          // The ingest leaves the previous draft or one a run again finishes (issue 6), never a
          // version: say so, rather than end in silence.
          console.error(
            'lantern: stopped. Nothing was published, and what was stored is kept: run the same command again to finish the draft (files stored already are not stored again).',
          );
        }
        process.exitCode = code;
      },
    );

  // `lantern publish SLUG`, the step after `lantern ingest`, is the same command.
  publishCommand(program.command('publish')).addHelpText(
    'after',
    '\nThe same as lantern datasets publish.',
  );

  program
    .command('inspect')
    .description(
      'tell what a file is before it enters a dataset: format, rows, columns with types, identifying fields',
    )
    .argument(
      '<file>',
      'a table (CSV, Parquet), a DICOM file, an ECG (.npy, .npz, MUSE XML, WFDB .hea) or a slide (TIFF, SVS)',
    )
    .option('--json', 'print one JSON object: format, rowCount, bytes, columns, identifying')
    .addHelpText(
      'after',
      `
Identifying fields are a table's columns whose names look like a person's (name, MRN, SSN, phone,
email, address, date of birth), a DICOM file's attributes of PS3.15's Annex E, an ECG's
demographics; their values are masked. A file that cannot be read exits 1 naming the line or byte;
one that is not there, 2.`,
    )
    .action(async (file: string, options: { json?: boolean }) => {
      process.exitCode = await inspect(file, options);
    });

  const demo = program
    .command('demo')
    .description('the synthetic demo catalogue (made-up people, labelled synthetic)');
  demo
    .command('generate')
    .description('write the demo partner deliveries to <out>/<slug>/delivery-<n>/')
    .requiredOption('--out <dir>', 'the folder to write into (new or empty, unless --force)')
    .option(
      '--scale <n>',
      'size: 1 is the demo (well under 200 MB), 10 ten times as many patients',
      '1',
    )
    .option('--seed <s>', 'the same seed writes the same bytes (a number or any text)', '1')
    .option('--dataset <slug...>', `only these datasets (default all: ${demoSlugs().join(', ')})`)
    .option('--delivery <n>', 'only delivery 1 or 2 (default both: 2 makes the next version)')
    .option(
      '--workers <n>',
      `worker threads making the images (default ${demoWorkers()}, one per core; 1 makes them in this thread); the bytes are the same`,
    )
    .option('--force', 'write into a folder that is not empty, replacing files of the same names')
    .option('--json', 'print the summaries as JSON')
    .addHelpText(
      'after',
      `
Each delivery is written beside its folder and renamed into place once complete.
Delivery 2 of each dataset is the partner's next full snapshot: more patients (a minor version)
or corrected cells (a patch). Ingest delivery 1, publish, then ingest delivery 2.
Example: lantern demo generate --out ./demo --dataset demo-ed-ecg --scale 0.5`,
    )
    .action(async (options: DemoGenerateFlags) => {
      process.exitCode = await generateDemo(options);
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
