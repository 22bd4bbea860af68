import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLanternClient, type LanternClient } from '@lantern/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInFirstAdmin } from './testing/first-admin.js';
import { answerOnTerminal, runCli, startLantern, type RunningLantern } from './testing/run-cli.js';

// The catalog as a curator and a researcher meet it from the command line, against a real
// `lantern start`. The catalog starts empty; the first admin's token (admins hold every
// permission) fills it over HTTP, and the CLI publishes.
const SLUG = 'demo-tb-smear';

let dataDir: string;
let home: string;
let lantern: RunningLantern;
let curatorToken: string;
let publicToken: string;
let curator: LanternClient;
let anyone: LanternClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-cli-datasets-'));
  home = await mkdtemp(join(tmpdir(), 'lantern-cli-home-'));
  lantern = await startLantern(['--data-dir', dataDir]);
  const admin = await signInFirstAdmin(lantern, 'seven lanterns over the quiet harbour');
  curatorToken = (await admin.makeToken('catalog', ['public', 'catalog.curate'])).secret;
  publicToken = (await admin.makeToken('reading', ['public'])).secret;
  curator = createLanternClient({ baseUrl: lantern.url, token: curatorToken });
  anyone = createLanternClient({ baseUrl: lantern.url });
});

afterAll(async () => {
  await lantern.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

/** `lantern <args>` against the test server, as anonymous unless a token is given. */
function lanternCli(args: string[], token = '') {
  return runCli(args, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    LANTERN_SERVER: lantern.url,
    LANTERN_TOKEN: token,
  });
}

const LABELS_V1 = 'image_id,bacilli,slide_date\ni1,true,2024-01-02\ni2,false,\n';
const LABELS_V2 = `${LABELS_V1}i3,true,2024-02-03\n`;

const labelsDictionary = {
  tables: [
    {
      name: 'labels',
      description: 'One row per smear image.',
      columns: [
        { name: 'image_id', description: 'The image.', type: 'string' as const },
        { name: 'bacilli', description: 'Bacilli seen.', type: 'boolean' as const },
        { name: 'slide_date', description: 'When it was stained.', type: 'date' as const },
      ],
    },
  ],
};

/** A dataset with a documented, keyed draft of one table: publishable as 1.0. */
async function createDraft(): Promise<void> {
  await curator.createDataset({
    slug: SLUG,
    title: 'Tuberculosis on sputum smears',
    problem: 'Which smears hold tuberculosis bacilli?',
    category: 'microscopy-images',
    partners: [{ name: 'Example Lab', country: 'ZA', description: '' }],
    authors: [{ name: 'A. Researcher' }],
    citation: { text: 'Example Lab. Smears (synthetic).' },
    accessTier: 'open',
    modalities: ['microscopy'],
    tags: ['tuberculosis'],
  });
  await curator.uploadDraftTable(SLUG, 'labels', 'labels.csv', LABELS_V1);
  await curator.setDraftTableKeys(SLUG, 'labels', { primaryKey: ['image_id'], foreignKeys: [] });
  await curator.setDraftDictionary(SLUG, labelsDictionary);
}

describe('lantern datasets', () => {
  it('lists an empty catalog to anyone, and refuses publishing without a token', async () => {
    const list = await lanternCli(['datasets', 'list']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toBe(`The catalog of ${lantern.url} is empty.\n`);
    const json = await lanternCli(['datasets', 'list', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ datasets: [] });

    const anonymous = await lanternCli(['datasets', 'publish', SLUG, '--yes']);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toBe(
      `lantern: you are not signed in to ${lantern.url}: run lantern login\n`,
    );
  });

  it('publish shows the computed version and change log, and without a terminal asks for --yes', async () => {
    await createDraft();
    // A token without catalog.curate cannot even see the draft.
    const reader = await lanternCli(['datasets', 'publish', SLUG, '--yes'], publicToken);
    expect(reader.code).toBe(1);
    expect(reader.stderr).toMatch(new RegExp(`^lantern: ${lantern.url} answered 403: `));

    const unasked = await lanternCli(['datasets', 'publish', SLUG], curatorToken);
    expect(unasked.code).toBe(2);
    expect(unasked.stdout).toMatch(
      new RegExp(`^${SLUG}: the draft would be version 1\\.0 \\(major; the first version\\)\n`),
    );
    expect(unasked.stdout).toContain(
      'Change log\n  - Table labels added (labels.csv; 2 rows, 3 columns)\n',
    );
    // Warnings are shown, and do not stop a publication.
    expect(unasked.stdout).toContain('Problems: 0 blocking, 2 warnings\n');
    expect(unasked.stdout).toMatch(/^ {2}warning {2}naming labels\.slide_date: rename /m);
    expect(unasked.stderr).toBe(
      'lantern: stdin is not a terminal: pass --yes to publish without being asked; nothing was published\n',
    );
    expect(await anyone.listDatasets()).toEqual([]);

    // A typed number that disagrees with the computed one is refused before anything is asked.
    const wrong = await lanternCli(
      ['datasets', 'publish', SLUG, '--yes', '--version', '2.0'],
      curatorToken,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /^lantern: the draft's changes make version 1\.0, not 2\.0 \(major: .*\); nothing was published\n$/,
    );
    expect(await anyone.listDatasets()).toEqual([]);

    const published = await lanternCli(
      ['datasets', 'publish', SLUG, '--yes', '--version', '1.0', '--notes', 'First release.'],
      curatorToken,
    );
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    expect(published.stdout).toMatch(
      new RegExp(`\nPublished ${SLUG} 1\\.0 \\(major\\) on ${lantern.url}\n$`),
    );
    expect((await anyone.getDatasetVersion(SLUG, '1.0')).notes).toBe('First release.');
  });

  it('publish asks on a terminal, and publishes only on yes', async () => {
    await curator.openDatasetDraft(SLUG);
    await curator.uploadDraftTable(SLUG, 'labels', 'labels.csv', LABELS_V2);

    const answer = (reply: string) =>
      answerOnTerminal(
        ['datasets', 'publish', SLUG],
        {
          HOME: home,
          XDG_CONFIG_HOME: join(home, 'config'),
          LANTERN_SERVER: lantern.url,
          LANTERN_TOKEN: curatorToken,
        },
        `Publish ${SLUG} 1.1? [y/N]`,
        reply,
      );

    const declined = await answer('n');
    expect(declined.code).toBe(1);
    expect(declined.screen).toMatch(/the draft would be version 1\.1 \(minor; previous 1\.0\)/);
    expect(declined.screen).toContain('lantern: nothing was published');
    expect((await anyone.getDataset(SLUG)).versions.map((v) => v.version)).toEqual(['1.0']);

    const accepted = await answer('y');
    expect(accepted.code).toBe(0);
    expect(accepted.screen).toContain(`Published ${SLUG} 1.1 (minor) on ${lantern.url}`);
    expect((await anyone.getDataset(SLUG)).versions.map((v) => v.version)).toEqual(['1.1', '1.0']);
  });

  it('publish refuses a draft with blocking problems with exit code 1, listing them first', async () => {
    await curator.openDatasetDraft(SLUG);
    // A second table that the dictionary does not document.
    await curator.uploadDraftTable(SLUG, 'readers', 'readers.csv', 'reader_id,Age\nr1,40\n');

    const refused = await lanternCli(['datasets', 'publish', SLUG, '--yes'], curatorToken);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      new RegExp(`^${SLUG}: the draft would be version 2\\.0 \\(major; previous 1\\.1\\)\n`),
    );
    const problems = refused.stdout
      .split('\n')
      .filter((line) => /^ {2}(BLOCKING|warning) /.test(line));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/^ {2}BLOCKING dictionary readers/);
    const firstWarning = problems.findIndex((line) => line.startsWith('  warning'));
    const lastBlocking = problems.findLastIndex((line) => line.startsWith('  BLOCKING'));
    expect(firstWarning === -1 || firstWarning > lastBlocking).toBe(true);
    const blocking = lastBlocking + 1;
    expect(refused.stdout).toContain(
      `Problems: ${blocking} blocking, ${problems.length - blocking} warning`,
    );
    expect(refused.stderr).toBe(
      `lantern: ${SLUG} cannot be published: ${blocking} blocking problem${blocking === 1 ? '' : 's'}; fix ${blocking === 1 ? 'it' : 'them'} in the draft\n`,
    );
    expect((await anyone.getDataset(SLUG)).versions.map((v) => v.version)).toEqual(['1.1', '1.0']);
  });

  it('list shows the catalog as a table, searchable and filtered by category and modality', async () => {
    const list = await lanternCli(['datasets', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')).toEqual([
      expect.stringMatching(/^SLUG\s+LATEST\s+CATEGORY\s+TITLE$/),
      expect.stringMatching(
        new RegExp(`^${SLUG}\\s+1\\.1\\s+microscopy-images\\s+Tuberculosis on sputum smears$`),
      ),
      '',
    ]);
    expect((await lanternCli(['datasets', 'list', '--q', 'bacilli'])).stdout).toContain(SLUG);
    expect((await lanternCli(['datasets', 'list', '--q', 'pneumothorax'])).stdout).toBe(
      `No dataset on ${lantern.url} matches.\n`,
    );
    const elsewhere = await lanternCli(['datasets', 'list', '--category', 'x-ray-images']);
    expect(elsewhere.stdout).toBe(`No dataset on ${lantern.url} matches.\n`);
    expect((await lanternCli(['datasets', 'list', '--modality', 'microscopy'])).stdout).toContain(
      SLUG,
    );
    expect((await lanternCli(['datasets', 'list', '--modality', 'ecg'])).stdout).toBe(
      `No dataset on ${lantern.url} matches.\n`,
    );
    const wrong = await lanternCli(['datasets', 'list', '--modality', 'pet-scan']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Allowed choices are ecg, xray/);
    const json = await lanternCli([
      'datasets',
      'list',
      '--json',
      '--category',
      'microscopy-images',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      datasets: [{ slug: SLUG, latestVersion: '1.1', title: 'Tuberculosis on sputum smears' }],
    });
  });

  it('show prints the dataset, its versions, and a version with its tables and change log', async () => {
    const show = await lanternCli(['datasets', 'show', SLUG]);
    expect(show.stderr).toBe('');
    expect(show.code).toBe(0);
    const lines = show.stdout.split('\n');
    expect(lines[0]).toBe(`Tuberculosis on sputum smears (${SLUG})`);
    expect(show.stdout).toMatch(/^ {2}problem\s+Which smears hold tuberculosis bacilli\?$/m);
    expect(show.stdout).toMatch(/^ {2}partner\s+Example Lab \(ZA\)$/m);
    expect(show.stdout).toMatch(/^ {2}cite as\s+Example Lab\. Smears \(synthetic\)\.$/m);
    expect(show.stdout).toMatch(/^ {2}1\.1\s+published\s+minor\s+\d{4}-\d{2}-\d{2}$/m);
    expect(show.stdout).toMatch(/^ {2}1\.0\s+published\s+major\s+\d{4}-\d{2}-\d{2}$/m);
    // Anonymous readers never see the draft.
    expect(show.stdout).not.toMatch(/^ {2}draft/m);
    expect(show.stdout).toContain('Version 1.1 (published): 1 table\n');
    expect(show.stdout).toContain('  labels (labels.csv, 3 rows, primary key image_id)\n');
    expect(show.stdout).toMatch(/^ {4}bacilli\s+boolean\s+Bacilli seen\.$/m);
    expect(show.stdout).toMatch(/^ {4}slide_date\s+date\s+nullable\s+When it was stained\.$/m);
    const changeLog = show.stdout.slice(show.stdout.indexOf('Change log\n'));
    expect(changeLog).toMatch(/labels/);
    expect(changeLog).not.toContain('(no changes)');

    const first = await lanternCli(['datasets', 'show', SLUG, '--version', '1.0']);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('  labels (labels.csv, 2 rows, primary key image_id)\n');
    expect(first.stdout).toContain('Notes\n  First release.\n');

    const json = await lanternCli(['datasets', 'show', SLUG, '--json', '--version', '1.0']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dataset: { slug: SLUG, category: 'microscopy-images' },
      versions: [{ version: '1.1' }, { version: '1.0' }],
      version: {
        version: '1.0',
        status: 'published',
        snapshot: { tables: [{ name: 'labels', rowCount: 2 }] },
      },
    });

    // The curator may read the draft by name; others are told there is none.
    const draft = await lanternCli(['datasets', 'show', SLUG, '--version', 'draft'], curatorToken);
    expect(draft.code).toBe(0);
    expect(draft.stdout).toContain('Version draft (draft): 2 tables\n');
    const hidden = await lanternCli(['datasets', 'show', SLUG, '--version', 'draft']);
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toBe(`lantern: ${lantern.url} answered 404: ${SLUG} has no draft\n`);

    const missing = await lanternCli(['datasets', 'show', 'no-such-set']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `lantern: ${lantern.url} answered 404: there is no dataset no-such-set\n`,
    );
  });
});
