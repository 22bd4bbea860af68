import { spawn, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { readCsv } from '@lantern/formats';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInFirstAdmin } from './testing/first-admin.js';
import { onlyProgress, progressLines } from './testing/progress-lines.js';
import { LANTERN_BIN, runCli, startLantern } from './testing/run-cli.js';

// `lantern ingest` on a local installation, as a curator runs it: a synthetic partner delivery of
// the knee X-ray demo (made-up people) read into a fresh data directory, then again (nothing stored
// twice), a broken delivery refused, and a data directory held by a running server.
const SLUG = 'demo-knee-xray';

let work: string;
let delivery: string;
let dataDir: string;
/** The delivery's identifiers (MRNs, names, phones, accession numbers): never printed. */
let identifiers: string[];

async function column(path: string, name: string): Promise<string[]> {
  const table = await readCsv(createReadStream(path), { name: path });
  const index = table.columns.indexOf(name);
  const values: string[] = [];
  for await (const row of table) {
    const value = row.values[index];
    if (value !== null && value !== undefined && value !== '') {
      values.push(value);
    }
  }
  return values;
}

interface IngestJson {
  ingest: string;
  dataset: string;
  counts: {
    tables: number;
    rows: number;
    files: number;
    stored: number;
    deduplicated: number;
    held: number;
    bytes: number;
  };
  tables: { name: string; rows: number; columns: string[] }[];
  held: { path: string; reason: string }[];
  phi: {
    findings: { table: string; column: string; kind: string; examples: { masked: string }[] }[];
    blocked: boolean;
  };
  publication: {
    version: string;
    publishable: boolean;
    problems: { source: string; severity: string }[];
  };
  next: string;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-cli-ingest-'));
  delivery = join(work, 'knee-1');
  dataDir = join(work, 'data');
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, delivery: 1 });
  identifiers = [
    ...(await column(join(delivery, 'tables/patients.csv'), 'mrn')),
    ...(await column(join(delivery, 'tables/patients.csv'), 'patient_name')),
    ...(await column(join(delivery, 'tables/patients.csv'), 'phone')),
    ...(await column(join(delivery, 'tables/xrays.csv'), 'accession')),
  ];
}, 120_000);

/**
 * Runs `lantern <args>` on a pseudo-terminal (script(1)): stderr is a TTY, as a curator's is.
 * Returns what the terminal showed; the command must succeed.
 */
function onTerminal(args: readonly string[], env: Record<string, string> = {}): string {
  const command = [process.execPath, LANTERN_BIN, ...args].map((arg) => `'${arg}'`).join(' ');
  const run = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8',
    timeout: 55_000,
    env: { ...process.env, COLUMNS: '200', ...env },
  });
  expect(run.status, run.stdout).toBe(0);
  return run.stdout;
}

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('lantern ingest', () => {
  it('ingests a delivery into a fresh data directory and prints the draft it made', async () => {
    const result = await runCli(['ingest', delivery, '--data-dir', dataDir]);
    expect(result.code).toBe(0);
    // Off a terminal, progress is plain lines (each phase's first and last seen), nothing else.
    const progress = onlyProgress(result.stderr);
    expect(progress.map((line) => line.split(' ')[0])).toEqual(
      expect.arrayContaining(['checking', 'tables', 'files', 'scanning']),
    );
    expect(progress.at(-1)).toMatch(/^done +\[#{24}\] {2}1\/1 /u);
    const out = result.stdout;
    expect(out).toMatch(
      new RegExp(
        `^Ingested ${delivery} into the draft of ${SLUG} \\(ingest ing_[0-9a-f]{20}\\)\\.\n`,
      ),
    );
    expect(out).toMatch(/^Tables: 3, \d+ rows$/m);
    for (const table of ['patients', 'xrays', 'outcomes']) {
      expect(out).toMatch(
        new RegExp(`^ {2}${table} +\\d+ rows {2}\\d+ columns: patient_ngsci_id`, 'm'),
      );
    }
    expect(out).toMatch(/^ {2}xrays +\d+ rows {2}\d+ columns: patient_ngsci_id, xray_id, /m);
    // A fresh store: every file not held back is stored, none deduplicated.
    const files =
      /^Files: (\d+) delivered: (\d+) stored, 0 deduplicated \(already in the store\), (\d+) held back; /m.exec(
        out,
      );
    expect(files).not.toBeNull();
    const [, delivered, stored, held] = (files ?? []).map(Number);
    expect(delivered).toBeGreaterThan(4);
    expect((stored ?? 0) + (held ?? 0)).toBe(delivered);
    expect(out.match(/^ {2}held {2}\S+: /gm)?.length ?? 0).toBe(Math.min(held ?? 0, 20));
    // The PHI scan's findings, masked, block publication; the next step is said.
    expect(out).toMatch(/^PHI findings: \d+; publication waits for a decision on each$/m);
    expect(out).toMatch(/^ {2}patients\.birth_date {2}birth-date {2}\d+ cells {2}e\.g\. /m);
    expect(out).toMatch(/^Publication: blocked by \d+ problems? \(it would be version 1\.0\)/m);
    expect(out).toMatch(/^ {2}BLOCKING phi patients\.birth_date: /m);
    expect(out).toContain(`\nNext: decide each PHI finding`);
    expect(out).toMatch(new RegExp(`then lantern publish ${SLUG}\n$`));
    for (const identifier of identifiers) {
      expect(out.includes(identifier), identifier).toBe(false);
    }
  });

  it('draws a progress bar on a terminal, phase by phase, and clears it before the report', () => {
    const screen = onTerminal(['ingest', delivery, '--data-dir', join(work, 'data-tty')]);
    for (const phase of ['checking', 'tables', 'files', 'scanning']) {
      expect(screen).toMatch(new RegExp(`\\r${phase} +\\[[#-]{24}\\]  \\d+/\\d+  `));
    }
    // Each drawing replaces the line; the last is erased before the report is printed.
    expect(screen).toContain('\r\x1b[KIngested ');
    expect(screen.slice(screen.indexOf('Ingested '))).not.toContain('\x1b[K');
  });

  it('stores nothing twice when the same delivery is ingested again, and --json says so', async () => {
    const result = await runCli(['ingest', delivery, '--data-dir', dataDir, '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(result.stdout) as IngestJson;
    expect(report.dataset).toBe(SLUG);
    expect(report.ingest).toMatch(/^ing_/);
    expect(report.counts.tables).toBe(3);
    expect(report.counts.stored).toBe(0);
    expect(report.counts.deduplicated).toBeGreaterThan(0);
    expect(report.counts.deduplicated + report.counts.held).toBe(report.counts.files);
    expect(report.held).toHaveLength(report.counts.held);
    expect(report.tables.map((t) => t.name).sort()).toEqual(['outcomes', 'patients', 'xrays']);
    expect(report.tables.reduce((sum, t) => sum + t.rows, 0)).toBe(report.counts.rows);
    expect(report.tables.find((t) => t.name === 'xrays')?.columns).not.toContain('patient_name');
    expect(report.phi.blocked).toBe(true);
    expect(report.phi.findings).toContainEqual(
      expect.objectContaining({ table: 'patients', column: 'birth_date', kind: 'birth-date' }),
    );
    expect(report.publication).toMatchObject({ version: '1.0', publishable: false });
    expect(report.publication.problems).toContainEqual(
      expect.objectContaining({ source: 'phi', severity: 'blocking' }),
    );
    expect(report.next).toMatch(new RegExp(`then lantern publish ${SLUG}$`));
    for (const identifier of identifiers) {
      expect(result.stdout.includes(identifier), identifier).toBe(false);
    }
  });

  it('refuses a broken delivery with every problem, exit code 1, and stores nothing', async () => {
    const broken = join(work, 'broken');
    await cp(delivery, broken, { recursive: true });
    await unlink(join(broken, 'tables/outcomes.csv'));
    const xray = (await column(join(broken, 'tables/xrays.csv'), 'path'))[0] ?? '';
    await unlink(join(broken, 'files', xray));
    const fresh = join(work, 'data-broken');

    const result = await runCli(['ingest', broken, '--data-dir', fresh]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n').slice(progressLines(result.stderr).length);
    expect(lines[0]).toMatch(
      /^lantern: the delivery cannot be ingested: \d+ problems to fix first$/,
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}tables\/outcomes\.csv: table_missing: /),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\S+.*: file_missing: /));
    expect(lines.at(-1)).toBe('Nothing was stored. Fix the delivery and run lantern ingest again.');

    const json = await runCli(['ingest', broken, '--data-dir', fresh, '--json']);
    expect(json.code).toBe(1);
    const refusal = JSON.parse(json.stdout) as {
      refused: boolean;
      code: string;
      problems: { path: string; message: string }[];
    };
    expect(refusal).toMatchObject({ refused: true, code: 'validation_failed' });
    expect(refusal.problems.map((p) => p.path)).toContain('tables/outcomes.csv');

    // Nothing entered the catalog; the refusals are in the audit log, by the command line.
    const db = await PGlite.create(join(fresh, 'db'));
    try {
      const datasets = await db.query<{ n: number }>('select count(*)::int as n from dataset');
      expect(datasets.rows[0]?.n).toBe(0);
      const events = await db.query<{ body: string }>(
        `select body from audit_event where body like '%"ingest.refused"%'`,
      );
      expect(events.rows).toHaveLength(2);
      for (const event of events.rows) {
        expect(JSON.parse(event.body)).toMatchObject({ actor: 'system:cli', outcome: 'denied' });
      }
    } finally {
      await db.close();
    }
  });

  // Ctrl-C ended the command in silence, leaving the curator to guess what was kept.
  it('stopped with Ctrl-C, says nothing was published and that running it again finishes the draft', async () => {
    const fresh = join(work, 'data-interrupted');
    const child = spawn(process.execPath, [LANTERN_BIN, 'ingest', delivery, '--data-dir', fresh], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<number | null>((done) => child.once('close', done));
    // Stopped as soon as the ingest has begun: its tables and files take seconds yet.
    await expect.poll(() => stderr, { timeout: 60_000, interval: 20 }).toMatch(/^checking /mu);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(
      'lantern: stopped. Nothing was published, and what was stored is kept: run the same command again to finish the draft (files stored already are not stored again).',
    );

    const again = await runCli(['ingest', delivery, '--data-dir', fresh, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as IngestJson).dataset).toBe(SLUG);
  });

  it('says so and exits 2 when no delivery folder is there', async () => {
    const result = await runCli(['ingest', join(work, 'nowhere'), '--data-dir', dataDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^lantern: no delivery folder at .*nowhere: pass the folder that holds delivery\.yaml\n$/,
    );
  });

  it('records its ingests in the audit chain as the command line, and the chain verifies', async () => {
    const db = await PGlite.create(join(dataDir, 'db'));
    try {
      const events = await db.query<{ body: string }>(
        `select body from audit_event where body like '%"ingest.delivery"%' order by seq`,
      );
      expect(events.rows).toHaveLength(2);
      for (const event of events.rows) {
        expect(JSON.parse(event.body)).toMatchObject({
          actor: 'system:cli',
          target: `dataset:${SLUG}`,
          outcome: 'allowed',
          clientIp: null,
        });
      }
      const runs = await db.query<{ created_by: string; status: string }>(
        'select created_by, status from ingest_run',
      );
      expect(runs.rows).toEqual([
        { created_by: 'system:cli', status: 'done' },
        { created_by: 'system:cli', status: 'done' },
      ]);
    } finally {
      await db.close();
    }
    const verify = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    expect(verify.stdout).toMatch(/^audit chain ok: \d+ events/);
    expect(verify.code).toBe(0);
  });

  it('exits 2 beside a running server on the data directory; lantern publish goes through the server', async () => {
    const lantern = await startLantern(['--data-dir', dataDir]);
    try {
      const result = await runCli(['ingest', delivery, '--data-dir', dataDir]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^lantern: data directory .* is in use by a running Lantern process \(pid \d+, lantern start\); on the embedded database an ingest needs the directory to itself: send the delivery to that server with lantern ingest .* --server URL \(a curator's token\), or stop it first\n$/,
      );

      // `lantern publish` is `lantern datasets publish`: the draft's PHI findings block it.
      const admin = await signInFirstAdmin(lantern, 'nine knees on a winter morning');
      const token = (await admin.makeToken('curate', ['public', 'catalog.curate'])).secret;
      const home = join(work, 'home');
      const publish = await runCli(['publish', SLUG, '--yes'], {
        HOME: home,
        XDG_CONFIG_HOME: join(home, 'config'),
        LANTERN_SERVER: lantern.url,
        LANTERN_TOKEN: token,
      });
      expect(publish.code).toBe(1);
      expect(publish.stdout).toMatch(new RegExp(`^${SLUG}: the draft would be version 1\\.0 `));
      expect(publish.stdout).toMatch(/^ {2}BLOCKING phi patients\.birth_date: /m);
      expect(publish.stderr).toMatch(
        new RegExp(`^lantern: ${SLUG} cannot be published: \\d+ blocking`),
      );
    } finally {
      await lantern.stop();
    }
  });

  it('--server sends the delivery to a running server, which ingests it and deletes its copy', async () => {
    const remoteDir = join(work, 'data-remote');
    const lantern = await startLantern(['--data-dir', remoteDir]);
    try {
      const admin = await signInFirstAdmin(lantern, 'eleven knees in a spring fog');
      const token = (await admin.makeToken('ingest', ['public', 'catalog.curate'])).secret;
      const reader = (await admin.makeToken('reading', ['public'])).secret;
      const home = join(work, 'home-remote');
      const env = (secret: string) => ({
        HOME: home,
        XDG_CONFIG_HOME: join(home, 'config'),
        LANTERN_TOKEN: secret,
      });

      const refused = await runCli(['ingest', delivery, '--server', lantern.url], env(reader));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`^lantern: ${lantern.url} answered 403: `));

      // A delivery the server would refuse (a typo in a column name the manifest gives) is
      // refused here with every problem, before a byte is sent: it used to be uploaded whole first.
      const typo = join(work, 'typo');
      await cp(delivery, typo, { recursive: true });
      const manifest = join(typo, 'delivery.yaml');
      await writeFile(
        manifest,
        (await readFile(manifest, 'utf8')).replace('dates: [exam_date]', 'dates: [exam_dat]'),
      );
      const early = await runCli(['ingest', typo, '--server', lantern.url], env(token));
      expect(early.code).toBe(1);
      expect(progressLines(early.stderr)).toEqual([]);
      expect(early.stderr.split('\n')).toEqual([
        'lantern: the delivery cannot be ingested: 1 problem to fix first',
        '  tables/xrays.csv exam_dat: column_missing: delivery.yaml names the column "exam_dat", which this table does not have (did you mean "exam_date"?)',
        'Nothing was stored. Fix the delivery and run lantern ingest again.',
        '',
      ]);
      expect(await readdir(join(home, 'config', 'lantern', 'uploads')).catch(() => [])).toEqual([]);
      expect(await readdir(join(remoteDir, 'ingest-staging')).catch(() => [])).toEqual([]);

      const result = await runCli(['ingest', delivery, '--server', lantern.url], env(token));
      expect(result.code).toBe(0);
      // Off a terminal, progress is plain lines: the upload's first and last, with the bytes of
      // all it sends (then the server's run, as it is seen).
      const progress = onlyProgress(result.stderr);
      const uploading = progress.filter((line) => line.startsWith('uploading '));
      const first =
        /^uploading +\[-{24}\] {2}0\/(\d+) {2}0 B of (\d+(?:\.\d+)? [kMG]?B)( {2}|$)/u.exec(
          uploading[0] ?? '',
        );
      expect(first, uploading[0]).not.toBeNull();
      const [, files, bytes] = first ?? [];
      expect(uploading.at(-1)).toMatch(
        new RegExp(`^uploading +\\[#{24}\\] {2}${files}/${files} {2}${bytes} of ${bytes} {2}`),
      );
      expect(result.stdout).toMatch(
        new RegExp(
          `^Ingested ${delivery} into the draft of ${SLUG} \\(ingest ing_[0-9a-f]{20}\\)\\.\n`,
        ),
      );
      expect(result.stdout).toMatch(/^Tables: 3, \d+ rows$/m);
      expect(result.stdout).toMatch(/^Files: \d+ delivered: \d+ stored, 0 deduplicated /m);
      expect(result.stdout).toMatch(/^ {2}BLOCKING phi patients\.birth_date: /m);
      for (const identifier of identifiers) {
        expect(result.stdout.includes(identifier), identifier).toBe(false);
      }
      // The server's copy of the delivery is gone.
      expect(await readdir(join(remoteDir, 'ingest-staging'))).toEqual([]);

      const again = await runCli(
        ['ingest', delivery, '--server', lantern.url, '--json'],
        env(token),
      );
      expect(again.code).toBe(0);
      const report = JSON.parse(again.stdout) as IngestJson;
      expect(report.counts.stored).toBe(0);
      expect(report.counts.deduplicated + report.counts.held).toBe(report.counts.files);

      // On a terminal, the upload's bar is drawn in place (files, bytes of all), and cleared.
      const screen = onTerminal(['ingest', delivery, '--server', lantern.url], env(token));
      expect(screen).toMatch(/\ruploading +\[[#-]{24}\] {2}\d+\/\d+ {2}\S+ \S+ of \S+ \S+/u);
      expect(screen).toContain('\r\x1b[KIngested ');
      expect(screen.slice(screen.indexOf('Ingested '))).not.toContain('\x1b[K');
    } finally {
      await lantern.stop();
    }
  });

  it('--server and --data-dir do not go together', async () => {
    const result = await runCli([
      'ingest',
      delivery,
      '--server',
      'http://127.0.0.1:9',
      '--data-dir',
      dataDir,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /option '--server <url>' cannot be used with option '--data-dir <dir>'/,
    );
  });
});
