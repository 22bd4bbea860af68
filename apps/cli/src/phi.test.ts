import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '@lantern/formats';
import { generateKneeXrayDelivery } from '@lantern/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInFirstAdmin } from './testing/first-admin.js';
import { onlyProgress } from './testing/progress-lines.js';
import { runCli, startLantern, type RunningLantern } from './testing/run-cli.js';

// `lantern phi list` and `lantern phi decide` against a real `lantern start`: a synthetic knee
// delivery (made-up people; four radiographs with burned-in text) is sent with `lantern ingest
// --server`, then a curator reviews its PHI findings and held files from the command line.
const SLUG = 'demo-knee-xray';

let work: string;
let home: string;
let lantern: RunningLantern;
let curatorToken: string;
let readerToken: string;
let delivery: string;
/** The delivery's MRNs, names and accession numbers: never printed. */
let identifiers: string[];

interface ReviewJson {
  phi: { ingest: string; open: string[]; findings: { id: string }[] };
  held: {
    open: number;
    files: { id: string; path: string; decision: string | null; note: string | null }[];
  };
}

function lanternCli(args: string[], token: string) {
  return runCli(args, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    LANTERN_SERVER: lantern.url,
    LANTERN_TOKEN: token,
  });
}

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

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-cli-phi-'));
  home = join(work, 'home');
  delivery = join(work, 'knee');
  // Seed 3: four of its radiographs have burned-in text (seed 7 had four until each patient drew
  // from their own derived generator, for the synth pool; it now has six).
  await generateKneeXrayDelivery({ out: delivery, scale: 0.25, seed: 3, delivery: 1 });
  identifiers = [
    ...(await column(join(delivery, 'tables/patients.csv'), 'mrn')),
    ...(await column(join(delivery, 'tables/patients.csv'), 'patient_name')),
    ...(await column(join(delivery, 'tables/xrays.csv'), 'accession')),
  ];
  lantern = await startLantern(['--data-dir', join(work, 'data')]);
  const admin = await signInFirstAdmin(lantern, 'four knees behind the lantern');
  curatorToken = (await admin.makeToken('curate', ['public', 'catalog.curate'])).secret;
  readerToken = (await admin.makeToken('reading', ['public'])).secret;
  const ingested = await lanternCli(['ingest', delivery, '--server', lantern.url], curatorToken);
  onlyProgress(ingested.stderr);
  expect(ingested.code).toBe(0);
  expect(ingested.stdout).toMatch(/review each file held back/);
}, 120_000);

afterAll(async () => {
  await lantern.stop();
  await rm(work, { recursive: true, force: true });
});

describe('lantern phi', () => {
  it('lists the findings (masked) and the held files, each open, and never an identifier', async () => {
    const result = await lanternCli(['phi', 'list', SLUG], curatorToken);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^PHI findings of ${SLUG}'s draft \\(ingest ing_[0-9a-f]{20}\\): 1, 1 open$`, 'm'),
    );
    expect(result.stdout).toMatch(
      /^ {2}patients\.birth_date:birth-date +birth-date +\d+ +row \d+: \S+ +OPEN$/m,
    );
    expect(result.stdout).toMatch(/^Held back: 4 files, 4 open$/m);
    expect(
      result.stdout.match(/^ {2}held_[0-9a-f]{20} +xrays\/\S+\.dcm +OPEN +Burned In/gm),
    ).toHaveLength(4);
    expect(result.stdout).toMatch(new RegExp(`^Next: lantern phi decide ${SLUG} `, 'm'));
    for (const identifier of identifiers) {
      expect(result.stdout.includes(identifier), identifier).toBe(false);
    }
    const refused = await lanternCli(['phi', 'list', SLUG], readerToken);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^lantern: ${lantern.url} answered 403: `));
  });

  it('refuses a confirmation or a release without a note, before asking the server', async () => {
    const none = await lanternCli(['phi', 'decide', SLUG], curatorToken);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      'lantern: nothing to decide: give --drop, --confirm, --release or --exclude\n',
    );
    const unsaid = await lanternCli(
      ['phi', 'decide', SLUG, '--release', 'held_x', '--note', '  '],
      curatorToken,
    );
    expect(unsaid.code).toBe(2);
    expect(unsaid.stderr).toMatch(/--note is required/);
    const badColumn = await lanternCli(
      ['phi', 'decide', SLUG, '--drop', 'birth_date'],
      curatorToken,
    );
    expect(badColumn.code).toBe(2);
  });

  it('drops a column, releases one held file and excludes the rest, through the API', async () => {
    const before = JSON.parse(
      (await lanternCli(['phi', 'list', SLUG, '--json'], curatorToken)).stdout,
    ) as ReviewJson;
    const [first, ...rest] = before.held.files;
    // A finding named by its column alone (as the ingest's report shows it) is refused, naming
    // the finding the curator may have meant.
    const unnamed = await lanternCli(
      ['phi', 'decide', SLUG, '--confirm', 'patients.birth_date', '--note', 'shifted'],
      curatorToken,
    );
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toMatch(
      /answered 400: no finding patients\.birth_date in this draft; its findings: patients\.birth_date:birth-date\n$/u,
    );
    const dropped = await lanternCli(
      ['phi', 'decide', SLUG, '--drop', 'patients.birth_date'],
      curatorToken,
    );
    expect(dropped.stderr).toBe('');
    expect(dropped.stdout).toBe(`Decided 1 PHI finding of ${SLUG}: 0 open\n`);
    const released = await lanternCli(
      [
        'phi',
        'decide',
        SLUG,
        '--release',
        first?.id ?? '',
        '--note',
        'Only a laterality marker is burned in.',
      ],
      curatorToken,
    );
    expect(released.stdout).toBe(`Decided 1 held file of ${SLUG}: 3 open\n`);
    // Held files are named by their paths too, as the ingest's report names them: the server
    // answered "no held file xrays/… in this draft" of a file it held.
    const excluded = await lanternCli(
      ['phi', 'decide', SLUG, ...rest.flatMap((file) => ['--exclude', file.path])],
      curatorToken,
    );
    expect(excluded.stdout).toBe(`Decided 3 held files of ${SLUG}: 0 open\n`);
    const again = await lanternCli(
      ['phi', 'decide', SLUG, '--exclude', first?.id ?? ''],
      curatorToken,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/answered 409: .*released already/);

    const after = JSON.parse(
      (await lanternCli(['phi', 'list', SLUG, '--json'], curatorToken)).stdout,
    ) as ReviewJson;
    expect(after.phi.open).toEqual([]);
    expect(after.held.open).toBe(0);
    expect(after.held.files.find((f) => f.id === first?.id)).toMatchObject({
      decision: 'release',
      note: 'Only a laterality marker is burned in.',
    });
    expect(after.held.files.filter((f) => f.decision === 'exclude')).toHaveLength(3);
    const list = await lanternCli(['phi', 'list', SLUG], curatorToken);
    expect(list.stdout).toMatch(/^ {2}patients\.birth_date:birth-date .* dropped by /m);
    expect(list.stdout).toMatch(new RegExp(`^Nothing open: lantern publish ${SLUG}$`, 'm'));
  });

  // Ingesting the same delivery again reopened every finding and held file, and said nothing.
  it("keeps the curator's decisions when the delivery is ingested again, and says so", async () => {
    const again = await lanternCli(['ingest', delivery, '--server', lantern.url], curatorToken);
    onlyProgress(again.stderr);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^Decisions of the review before \(ingest ing_[0-9a-f]{20}\): 5 kept \(1 on PHI findings, 4 on held files\), 0 dropped; new and open: 0 PHI findings, 0 held files$/m,
    );
    expect(again.stdout).toMatch(
      /^PHI findings: 1; each decided \(decisions kept from the review before\)$/m,
    );
    const list = await lanternCli(['phi', 'list', SLUG], curatorToken);
    expect(list.stdout).toMatch(/^ {2}patients\.birth_date:birth-date .* dropped by /m);
    expect(list.stdout).toMatch(/^Held back: 4 files, 0 open$/m);
    expect(list.stdout).toMatch(new RegExp(`^Nothing open: lantern publish ${SLUG}$`, 'm'));
  });
});
