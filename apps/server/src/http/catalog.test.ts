import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetViews } from '../compute/dataset-view.js';
import { request } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

let server: TestServer;
const PASSWORD = 'seven quiet rivers under the hill';
let curator: SignedInUser;
let researcher: SignedInUser;

const KNEE = {
  slug: 'demo-knee-xray',
  title: 'Knee osteoarthritis outcomes: a dataset',
  problem: 'Which knees will need a replacement within five years?',
  category: 'xray-images',
  partners: [{ name: 'Example Health System', country: 'US', description: 'A health system.' }],
  authors: [{ name: 'Ada Lovelace' }],
  citation: { text: 'Lovelace A. Knee outcomes (synthetic). Lantern, 2026.' },
  accessTier: 'open',
  modalities: ['xray', 'clinical-records'],
  tags: ['synthetic', 'knee'],
};

const PATIENTS = 'patient_ngsci_id,sex,age_at_exam\np1,F,61\np2,M,70\np3,F,55\n';
const XRAYS_V1 =
  'xray_id,patient_ngsci_id,view,exam_date\nx1,p1,AP,2020-01-02\nx2,p2,LAT,2020-02-03\n';
const XRAYS_V2 = `${XRAYS_V1}x3,p3,AP,2021-03-04\n`;

const DICTIONARY = {
  tables: [
    {
      name: 'patients',
      description: 'One row per person.',
      columns: [
        { name: 'patient_ngsci_id', description: 'Pseudonymous person id.', type: 'string' },
        { name: 'sex', description: 'Sex recorded at the exam.', type: 'string' },
        { name: 'age_at_exam', description: 'Age in years.', type: 'integer', unit: 'years' },
      ],
    },
    {
      name: 'xrays',
      description: 'One row per radiograph.',
      columns: [
        { name: 'xray_id', description: 'Radiograph id.', type: 'string' },
        { name: 'patient_ngsci_id', description: 'The person.', type: 'string' },
        { name: 'view', description: 'Projection.', type: 'string', allowedValues: ['AP', 'LAT'] },
        { name: 'exam_date', description: 'Shifted exam date.', type: 'date' },
      ],
    },
  ],
};

beforeAll(async () => {
  server = await startTestServer();
  curator = await createSignedInUser(server, {
    email: 'curator@example.org',
    roles: ['curator'],
    password: PASSWORD,
  });
  researcher = await createSignedInUser(server, {
    email: 'ada@example.org',
    roles: ['researcher'],
    password: PASSWORD,
  });
});

afterAll(async () => {
  await server.close();
});

function upload(table: string, file: string, csv: string) {
  return fetch(
    `${server.url}/api/v1/datasets/demo-knee-xray/draft/tables/${table}?file=${encodeURIComponent(file)}`,
    {
      method: 'PUT',
      headers: { cookie: curator.cookie, 'x-lantern-csrf': '1', 'content-type': 'text/csv' },
      body: csv,
    },
  );
}

const preview = async () =>
  (await (
    await request(server, 'GET', '/api/v1/datasets/demo-knee-xray/draft/publication', curator)
  ).json()) as {
    version: string;
    level: string;
    publishable: boolean;
    problems: { severity: string; message: string }[];
    changeLog: { kind: string; text: string }[];
  };

describe(`the catalog on ${TEST_DIALECT}`, () => {
  it('lists the categories, and an empty catalog, to anyone', async () => {
    const categories = await request(server, 'GET', '/api/v1/dataset-categories');
    const { categories: list } = (await categories.json()) as { categories: { slug: string }[] };
    expect(list.map((c) => c.slug).sort()).toEqual([
      'ecg-waveforms',
      'microscopy-images',
      'multiple-diagnostics',
      'xray-images',
    ]);
    expect(await (await request(server, 'GET', '/api/v1/datasets')).json()).toEqual({
      datasets: [],
    });
  });

  it('lets curators, not researchers, create a dataset, unseen until published', async () => {
    expect((await request(server, 'POST', '/api/v1/datasets', researcher, KNEE)).status).toBe(403);
    const bad = await request(server, 'POST', '/api/v1/datasets', curator, {
      ...KNEE,
      slug: 'Not A Slug',
      partners: [{ name: 'X', country: 'ZZ', description: '' }],
    });
    expect(bad.status).toBe(400);
    const made = await request(server, 'POST', '/api/v1/datasets', curator, KNEE);
    expect(made.status).toBe(201);
    expect(await made.json()).toMatchObject({ slug: 'demo-knee-xray', accessTier: 'open' });
    expect((await request(server, 'POST', '/api/v1/datasets', curator, KNEE)).status).toBe(409);
    expect((await request(server, 'GET', '/api/v1/datasets/demo-knee-xray')).status).toBe(404);
    expect(
      (await request(server, 'GET', '/api/v1/datasets/demo-knee-xray/versions/draft', researcher))
        .status,
    ).toBe(404);
    const mine = await request(server, 'GET', '/api/v1/datasets', curator);
    expect(await mine.json()).toMatchObject({
      datasets: [{ slug: 'demo-knee-xray', latestVersion: null, hasDraft: true }],
    });
  });

  it('reads uploaded tables for their columns, types and rows; refuses unreadable ones', async () => {
    expect((await upload('patients', 'tables/patients.csv', PATIENTS)).status).toBe(200);
    const res = await upload('xrays', 'tables/xrays.csv', XRAYS_V1);
    expect(res.status).toBe(200);
    const draft = (await res.json()) as {
      snapshot: { tables: { name: string; rowCount: number; columns: { type: string }[] }[] };
      files: { path: string }[];
    };
    const xrays = draft.snapshot.tables.find((t) => t.name === 'xrays');
    expect(xrays?.rowCount).toBe(2);
    expect(xrays?.columns.map((c) => c.type)).toEqual(['string', 'string', 'string', 'date']);
    expect(draft.files.map((f) => f.path)).toEqual(['tables/patients.csv', 'tables/xrays.csv']);
    const ragged = await upload('xrays', 'tables/xrays.csv', 'a,b\n1,2\n3\n');
    expect(ragged.status).toBe(400);
    expect(((await ragged.json()) as { detail: string }).detail).toMatch(/line 3/);
    const escape = await upload('xrays', '../outside.csv', XRAYS_V1);
    expect(escape.status).toBe(400);
    const after = await request(
      server,
      'GET',
      '/api/v1/datasets/demo-knee-xray/versions/draft',
      curator,
    );
    const kept = (await after.json()) as {
      snapshot: { tables: { name: string; rowCount: number }[] };
    };
    expect(kept.snapshot.tables.find((t) => t.name === 'xrays')?.rowCount).toBe(2);
  });

  it('refuses to publish with every problem listed, then publishes 1.0', async () => {
    const keys = await request(
      server,
      'PUT',
      '/api/v1/datasets/demo-knee-xray/draft/tables/xrays/keys',
      curator,
      {
        primaryKey: ['xray_id'],
        foreignKeys: [
          {
            columns: ['patient_ngsci_id'],
            references: { table: 'patients', columns: ['patient_ngsci_id'] },
          },
        ],
      },
    );
    expect(keys.status).toBe(200);
    await request(
      server,
      'PUT',
      '/api/v1/datasets/demo-knee-xray/draft/tables/patients/keys',
      curator,
      {
        primaryKey: ['patient_ngsci_id'],
        foreignKeys: [],
      },
    );
    const partial = { tables: [DICTIONARY.tables[0]] };
    await request(
      server,
      'PUT',
      '/api/v1/datasets/demo-knee-xray/draft/dictionary',
      curator,
      partial,
    );
    const first = await preview();
    expect(first).toMatchObject({ version: '1.0', publishable: false });
    const refused = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/draft/publish',
      curator,
      { notes: '' },
    );
    expect(refused.status).toBe(409);
    const problem = (await refused.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path)).toContain('xrays');

    await request(
      server,
      'PUT',
      '/api/v1/datasets/demo-knee-xray/draft/dictionary',
      curator,
      DICTIONARY,
    );
    await request(server, 'PUT', '/api/v1/datasets/demo-knee-xray/draft/documentation', curator, {
      sections: [
        { kind: 'problem', markdown: 'Knees **wear out**. <script>alert(1)</script>' },
        { kind: 'overview', markdown: 'Two tables.' },
      ],
    });
    expect(await preview()).toMatchObject({ version: '1.0', publishable: true });
    const wrongNumber = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/draft/publish',
      curator,
      { version: '2.0', notes: '' },
    );
    expect(wrongNumber.status).toBe(409);
    expect(((await wrongNumber.json()) as { detail: string }).detail).toMatch(
      /this version is 1\.0, not 2\.0/,
    );
    const published = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/draft/publish',
      curator,
      { notes: 'First release.' },
    );
    expect(published.status).toBe(200);
    expect(await published.json()).toMatchObject({ version: '1.0', status: 'published' });
  });

  it('shows the published dataset to anyone, with its documentation and schematic', async () => {
    const list = await request(server, 'GET', '/api/v1/datasets');
    expect(await list.json()).toMatchObject({
      datasets: [{ slug: 'demo-knee-xray', latestVersion: '1.0', hasDraft: false }],
    });
    const version = await request(server, 'GET', '/api/v1/datasets/demo-knee-xray/versions/1.0');
    const body = (await version.json()) as {
      documentation: { title: string }[];
      changeLog: { kind: string }[];
      notes: string;
    };
    expect(body.documentation.map((d) => d.title)).toEqual(['The problem', 'Dataset overview']);
    expect(body.changeLog.map((e) => e.kind)).toEqual(['table-added', 'table-added']);
    expect(body.notes).toBe('First release.');
    const svg = await request(
      server,
      'GET',
      '/api/v1/datasets/demo-knee-xray/versions/1.0/schematic.svg',
    );
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(svg.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const text = await svg.text();
    expect(text).toContain('xrays');
    expect(text).toContain('patients');
    const found = await request(server, 'GET', '/api/v1/datasets?q=AGE_AT_EXAM');
    expect(((await found.json()) as { datasets: unknown[] }).datasets).toHaveLength(1);
    const other = await request(server, 'GET', '/api/v1/datasets?category=ecg-waveforms');
    expect(((await other.json()) as { datasets: unknown[] }).datasets).toHaveLength(0);
    const country = await request(server, 'GET', '/api/v1/datasets?country=us');
    expect(((await country.json()) as { datasets: unknown[] }).datasets).toHaveLength(1);
    const xray = await request(server, 'GET', '/api/v1/datasets?modality=xray');
    expect(await xray.json()).toMatchObject({
      datasets: [{ slug: 'demo-knee-xray', modalities: ['xray', 'clinical-records'] }],
    });
    const ecg = await request(server, 'GET', '/api/v1/datasets?modality=ecg');
    expect(((await ecg.json()) as { datasets: unknown[] }).datasets).toHaveLength(0);
    const unknown = await request(server, 'GET', '/api/v1/datasets?modality=pet-scan');
    expect(unknown.status).toBe(400);
  });

  it("materialises a published version's files as a dataset view for instances", async () => {
    const published = await server.ctx.services.catalog.publishedFiles('demo-knee-xray', '1.0');
    expect(published.files.length).toBeGreaterThanOrEqual(2);
    const views = new DatasetViews(server.ctx.config.dataDir, server.ctx.objectStore);
    const view = await views.materialise(published);
    for (const file of published.files) {
      const stored = await server.ctx.objectStore.get(file.objectKey);
      if (stored === null) {
        throw new Error(`no object ${file.objectKey}`);
      }
      expect(await readFile(join(view, file.path))).toEqual(await buffer(stored.body));
    }
    await expect(
      server.ctx.services.catalog.publishedFiles('demo-knee-xray', 'draft'),
    ).rejects.toThrow(/has no draft/u);
    await expect(
      server.ctx.services.catalog.publishedFiles('demo-knee-xray', '9.9'),
    ).rejects.toThrow(/no version 9.9/u);
  });

  it('never changes a published version', async () => {
    const edit = await request(
      server,
      'PUT',
      '/api/v1/datasets/demo-knee-xray/draft/documentation',
      curator,
      {
        sections: [],
      },
    );
    expect(edit.status).toBe(409);
    expect(((await edit.json()) as { detail: string }).detail).toMatch(
      /published versions never change/,
    );
    await expect(
      sql`update dataset_version set notes = 'changed' where number = '1.0'`.execute(
        server.ctx.database.db,
      ),
    ).rejects.toThrow(/never change/);
    await expect(
      sql`delete from dataset_version_file`.execute(server.ctx.database.db),
    ).rejects.toThrow(/never change/);
  });

  it('numbers the next versions from their changes: more rows minor, a new column major', async () => {
    expect(
      (await request(server, 'POST', '/api/v1/datasets/demo-knee-xray/draft', curator)).status,
    ).toBe(201);
    await upload('xrays', 'tables/xrays.csv', XRAYS_V2);
    expect(await preview()).toMatchObject({ version: '1.1', level: 'minor', publishable: true });
    const minor = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/draft/publish',
      curator,
      {
        version: '1.1',
        notes: 'One more radiograph.',
      },
    );
    expect(minor.status).toBe(200);
    const log = ((await minor.json()) as { changeLog: { text: string }[] }).changeLog;
    expect(log.map((e) => e.text).join(' ')).toMatch(/1 row added/);

    await request(server, 'POST', '/api/v1/datasets/demo-knee-xray/draft', curator);
    await upload(
      'patients',
      'tables/patients.csv',
      'patient_ngsci_id,sex,age_at_exam,bmi\np1,F,61,22.5\np2,M,70,27.1\np3,F,55,30.2\n',
    );
    const major = await preview();
    expect(major).toMatchObject({ version: '2.0', level: 'major' });
    // The new column is undocumented: publication waits for the dictionary.
    expect(major.publishable).toBe(false);
    expect(major.problems.map((p) => p.message).join(' ')).toMatch(/bmi/);

    const dataset = await request(server, 'GET', '/api/v1/datasets/demo-knee-xray', curator);
    expect(
      ((await dataset.json()) as { versions: { version: string | null; status: string }[] })
        .versions,
    ).toMatchObject([
      { version: null, status: 'draft' },
      { version: '1.1', status: 'published' },
      { version: '1.0', status: 'published' },
    ]);
    const anon = await request(server, 'GET', '/api/v1/datasets/demo-knee-xray');
    expect(((await anon.json()) as { versions: unknown[] }).versions).toHaveLength(2);
    const cards = await request(server, 'GET', '/api/v1/datasets');
    expect(await cards.json()).toMatchObject({ datasets: [{ hasDraft: false }] });
  });

  it('retires a version, which stays readable', async () => {
    const retired = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/versions/1.0/retire',
      curator,
    );
    expect(retired.status).toBe(200);
    expect(await retired.json()).toMatchObject({ status: 'retired', version: '1.0' });
    expect(
      (
        await request(
          server,
          'POST',
          '/api/v1/datasets/demo-knee-xray/versions/1.0/retire',
          curator,
        )
      ).status,
    ).toBe(409);
    expect(
      (await request(server, 'GET', '/api/v1/datasets/demo-knee-xray/versions/1.0')).status,
    ).toBe(200);
  });
});

describe(`reports of problems in a dataset on ${TEST_DIALECT}`, () => {
  let reportId = '';

  it('are filed by admitted readers on what they can see', async () => {
    const body = {
      version: '1.1',
      table: 'xrays',
      column: 'view',
      text: 'LAT is spelled LATERAL in the documentation',
    };
    expect(
      (await request(server, 'POST', '/api/v1/datasets/demo-knee-xray/reports', {}, body)).status,
    ).toBe(401);
    const unknown = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/reports',
      researcher,
      {
        ...body,
        column: 'no_such_column',
      },
    );
    expect(unknown.status).toBe(404);
    const filed = await request(
      server,
      'POST',
      '/api/v1/datasets/demo-knee-xray/reports',
      researcher,
      body,
    );
    expect(filed.status).toBe(201);
    const report = (await filed.json()) as { id: string; status: string };
    expect(report.status).toBe('open');
    reportId = report.id;
  });

  it('reach the curators, who answer, then close them with the version that fixes them', async () => {
    expect((await request(server, 'GET', '/api/v1/catalog/reports', researcher)).status).toBe(403);
    const queue = await request(server, 'GET', '/api/v1/catalog/reports', curator);
    expect(
      ((await queue.json()) as { reports: { id: string }[] }).reports.map((r) => r.id),
    ).toEqual([reportId]);
    const answered = await request(
      server,
      'POST',
      `/api/v1/catalog/reports/${reportId}/answer`,
      curator,
      {
        answer: 'Thank you, we are checking the delivery.',
      },
    );
    expect(await answered.json()).toMatchObject({ status: 'answered' });
    const wrong = await request(
      server,
      'POST',
      `/api/v1/catalog/reports/${reportId}/answer`,
      curator,
      {
        answer: 'Fixed.',
        fixedIn: '9.9',
      },
    );
    expect(wrong.status).toBe(400);
    const closed = await request(
      server,
      'POST',
      `/api/v1/catalog/reports/${reportId}/answer`,
      curator,
      {
        answer: 'Fixed: the documentation now says LAT.',
        fixedIn: '1.1',
      },
    );
    expect(await closed.json()).toMatchObject({ status: 'closed', fixedIn: '1.1' });
    const fixed = await request(
      server,
      'GET',
      '/api/v1/datasets/demo-knee-xray/versions/1.1/fixed-reports',
    );
    expect(await fixed.json()).toMatchObject({
      reports: [{ id: reportId, table: 'xrays', column: 'view' }],
    });
    const mine = await request(server, 'GET', '/api/v1/reports/mine', researcher);
    expect(await mine.json()).toMatchObject({ reports: [{ id: reportId, status: 'closed' }] });
    const mail = (await server.ctx.services.email.list({ limit: 50 })).filter(
      (m) => m.kind === 'catalog.report_answered' && m.to_address === 'ada@example.org',
    );
    expect(mail).toHaveLength(2);
    expect(mail[0]?.body_text).toContain('fixed in version 1.1');
    expect(
      (
        await request(server, 'POST', `/api/v1/catalog/reports/${reportId}/answer`, curator, {
          answer: 'again',
        })
      ).status,
    ).toBe(409);
  });
});

describe(`rows read at publication on ${TEST_DIALECT}`, () => {
  it('finds a study whose patient does not exist, and counts rows by their keys', async () => {
    // The open draft (2.0, with bmi) gets a radiograph of nobody, replacing x3 one for one.
    const orphan =
      'xray_id,patient_ngsci_id,view,exam_date\nx1,p1,AP,2020-01-02\nx2,p2,LAT,2020-02-03\nx4,p9,AP,2021-05-06\n';
    expect((await upload('xrays', 'tables/xrays.csv', orphan)).status).toBe(200);
    const blocked = await preview();
    expect(blocked.publishable).toBe(false);
    expect(blocked.problems.map((p) => p.message).join(' ')).toMatch(/p9/);
    // Rows are told apart by key: x4 added and x3 removed, though the count did not change.
    expect(blocked.changeLog.map((e) => e.text).join(' ')).toMatch(
      /1 row added.*1 row removed|1 row removed.*1 row added/,
    );
  });
});
