import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLanternClient } from '@lantern/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInFirstAdmin } from './testing/first-admin.js';
import { runCli, startLantern, type RunningLantern } from './testing/run-cli.js';

// Projects from the command line, against a real `lantern start`: the first admin (who holds every
// permission) accepts the terms, publishes one small synthetic open dataset over HTTP, and works
// with projects through the CLI.
const SLUG = 'demo-arrest-ecg';
const PURPOSE = 'Whether the morphology of a resting ECG predicts sudden cardiac arrest.';

let dataDir: string;
let home: string;
let lantern: RunningLantern;
let token: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-cli-projects-'));
  home = await mkdtemp(join(tmpdir(), 'lantern-cli-home-'));
  lantern = await startLantern(['--data-dir', dataDir]);
  const admin = await signInFirstAdmin(lantern, 'seven lanterns over the quiet harbour');
  const headers = {
    cookie: admin.cookie,
    'x-lantern-csrf': '1',
    'content-type': 'application/json',
  };
  const terms = (await (await fetch(`${lantern.url}/api/v1/terms`, { headers })).json()) as {
    version: number;
  };
  const accepted = await fetch(`${lantern.url}/api/v1/terms/accept`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ version: terms.version }),
  });
  expect(accepted.status).toBe(200);
  token = (await admin.makeToken('projects', ['public', 'catalog.curate', 'project.work'])).secret;
  const curator = createLanternClient({ baseUrl: lantern.url, token });
  await curator.createDataset({
    slug: SLUG,
    title: 'Sudden cardiac arrest from ECGs (synthetic)',
    problem: 'Which resting ECGs come before a sudden cardiac arrest?',
    category: 'ecg-waveforms',
    partners: [{ name: 'Example Health System', country: 'TW', description: '' }],
    authors: [{ name: 'A. Researcher' }],
    citation: { text: 'Example Health System. Arrest ECGs (synthetic).' },
    accessTier: 'open',
    modalities: ['ecg'],
    tags: ['synthetic'],
  });
  await curator.uploadDraftTable(
    SLUG,
    'ecgs',
    'ecgs.csv',
    'ecg_id,patient_ngsci_id\ne1,p1\ne2,p2\n',
  );
  await curator.setDraftTableKeys(SLUG, 'ecgs', { primaryKey: ['ecg_id'], foreignKeys: [] });
  await curator.setDraftDictionary(SLUG, {
    tables: [
      {
        name: 'ecgs',
        description: 'One row per ECG.',
        columns: [
          { name: 'ecg_id', description: 'The ECG.', type: 'string' },
          { name: 'patient_ngsci_id', description: 'The person.', type: 'string' },
        ],
      },
    ],
  });
  await curator.setDraftDocumentation(SLUG, [
    { kind: 'problem', markdown: 'Synthetic ECGs.' },
    { kind: 'overview', markdown: 'One table.' },
  ]);
  await curator.publishDraft(SLUG, { notes: 'First release.' });
});

afterAll(async () => {
  await lantern.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

/** `lantern <args>` against the test server, as anonymous unless a token is given. */
function lanternCli(args: string[], as = '') {
  return runCli(args, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    LANTERN_SERVER: lantern.url,
    LANTERN_TOKEN: as,
  });
}

describe('lantern projects', () => {
  let projectId: string;

  it('creates a project with a dataset version, and lists it', async () => {
    const none = await lanternCli(['projects', 'list'], token);
    expect(none).toMatchObject({ code: 0, stderr: '' });
    expect(none.stdout).toBe(
      `You are in no project on ${lantern.url}; lantern projects create makes one.\n`,
    );
    const anonymous = await lanternCli(['projects', 'list']);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toBe(
      `lantern: you are not signed in to ${lantern.url}: run lantern login\n`,
    );

    const made = await lanternCli(
      [
        'projects',
        'create',
        '--title',
        'Arrest from resting ECGs',
        '--purpose',
        PURPOSE,
        '--dataset',
        `${SLUG}@1.0`,
      ],
      token,
    );
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    projectId = /^Created (prj_[0-9a-f]{16}): /u.exec(made.stdout)?.[1] ?? '';
    expect(made.stdout).toBe(
      `Created ${projectId}: Arrest from resting ECGs (you are its owner)\n` +
        `  ${SLUG} 1.0: attached\n` +
        `Next: lantern projects invite ${projectId} EMAIL --role editor\n`,
    );
    const listed = await lanternCli(['projects', 'list'], token);
    expect(listed.stdout).toMatch(
      new RegExp(
        `^ID +ROLE +STATUS +MEMBERS +DATASETS +TITLE\n${projectId} +owner +active +1 +1 +Arrest from resting ECGs\n$`,
        'u',
      ),
    );
    const json = JSON.parse((await lanternCli(['projects', 'list', '--json'], token)).stdout) as {
      projects: { id: string; role: string }[];
    };
    expect(json.projects).toMatchObject([{ id: projectId, role: 'owner' }]);
  });

  it('refuses what it cannot send, with the reason', async () => {
    const badDataset = await lanternCli(
      ['projects', 'create', '--title', 'X', '--purpose', PURPOSE, '--dataset', SLUG],
      token,
    );
    expect(badDataset.code).toBe(2);
    expect(badDataset.stderr).toBe(
      `lantern: --dataset ${SLUG}: write SLUG@VERSION, e.g. demo-arrest-ecg@1.0\n`,
    );
    const unknownVersion = await lanternCli(
      ['projects', 'create', '--title', 'X', '--purpose', PURPOSE, '--dataset', `${SLUG}@2.0`],
      token,
    );
    expect(unknownVersion.code).toBe(1);
    expect(unknownVersion.stderr).toBe(
      `lantern: ${lantern.url} answered 404: ${SLUG} has no published version 2.0\n`,
    );
    const badRole = await lanternCli(
      ['projects', 'invite', projectId, 'ada@example.org', '--role', 'boss'],
      token,
    );
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toBe('lantern: --role boss: use one of owner, editor, viewer\n');
    const nobody = await lanternCli(['projects', 'members', 'prj_0000000000000000'], token);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toBe(
      `lantern: ${lantern.url} answered 404: there is no project prj_0000000000000000\n`,
    );
  });

  it('invites by email, once, and lists members and who is invited', async () => {
    const invited = await lanternCli(
      ['projects', 'invite', projectId, 'Ada@Example.org', '--role', 'editor'],
      token,
    );
    expect(invited.stderr).toBe('');
    expect(invited.stdout).toMatch(
      /^Invited ada@example\.org as editor: the link emailed works once, until \d{4}-\d{2}-\d{2}\n$/u,
    );
    const again = await lanternCli(['projects', 'invite', projectId, 'ada@example.org'], token);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(
        `^lantern: ${lantern.url} answered 409: ada@example\\.org was invited already`,
        'u',
      ),
    );
    const members = await lanternCli(['projects', 'members', projectId], token);
    expect(members.code).toBe(0);
    const lines = members.stdout.split('\n');
    expect(lines[0]).toBe(`Arrest from resting ECGs (${projectId}, active)`);
    expect(lines[1]).toMatch(/^ROLE +JOINED +EMAIL +NAME$/u);
    expect(lines[2]).toMatch(/^owner +\d{4}-\d{2}-\d{2} +admin@lantern\.local +/u);
    expect(lines.slice(3)).toEqual([
      '',
      'Invited, not yet joined',
      expect.stringMatching(/^ {2}editor +until \d{4}-\d{2}-\d{2} +ada@example\.org$/u),
      '',
    ]);
    const json = JSON.parse(
      (await lanternCli(['projects', 'members', projectId, '--json'], token)).stdout,
    ) as { members: { role: string }[]; invitations: { email: string; state: string }[] };
    expect(json.members.map((m) => m.role)).toEqual(['owner']);
    expect(json.invitations).toMatchObject([{ email: 'ada@example.org', state: 'pending' }]);
  });

  it('prints what the project spent: nothing yet, as text and as JSON, and refuses a bad window', async () => {
    const text = await lanternCli(['projects', 'spend', projectId], token);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(
      new RegExp(
        `^${projectId} spent nothing from \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} to \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC\\. Free instances cost nothing; paid types need an admin to enable them until billing arrives\\.\n$`,
        'u',
      ),
    );
    const json = JSON.parse(
      (
        await lanternCli(
          ['projects', 'spend', projectId, '--from', '2025-03-01', '--to', '2025-03-04', '--json'],
          token,
        )
      ).stdout,
    ) as { projectId: string; from: string; total: unknown; byDay: { day: string }[] };
    expect(json).toMatchObject({
      projectId,
      from: '2025-03-01T00:00:00.000Z',
      total: { seconds: 0, cents: 0 },
    });
    expect(json.byDay.map((d) => d.day)).toEqual(['2025-03-01', '2025-03-02', '2025-03-03']);
    const backwards = await lanternCli(
      ['projects', 'spend', projectId, '--from', '2025-03-04', '--to', '2025-03-01'],
      token,
    );
    expect(backwards.code).toBe(1);
    expect(backwards.stderr).toBe(
      `lantern: ${lantern.url} answered 400: from (2025-03-04T00:00:00.000Z) must come before to (2025-03-01T00:00:00.000Z)\n`,
    );
  });
});
