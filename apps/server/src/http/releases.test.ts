import { createHash } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { parseAuditBody } from '@lantern/core/audit';
import { writeZip } from '@lantern/formats';
import { ApiError, createLanternClient } from '@lantern/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyDataset } from '../testing/datasets.js';
import { request, type As } from '../testing/http.js';
import { stopLeftoverInstances } from '../testing/instances.js';
import { JupyterKernel } from '../testing/jupyter-kernel.js';
import { addMemberDirectly } from '../testing/projects.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

// The airlock through HTTP, with a real instance (Debian's Jupyter in a bubblewrap sandbox): a
// project's owner asks from inside the instance, with ngsci.request_release, for files to be
// released; reviewers see them with their disclosure checks and decide with a reason; members
// download approved files, byte for byte. Most requests here are made with the same platform call
// over HTTP (/platform/v1/releases, the instance's token), as a Pod makes it. Limits are lowered
// so that "too much" is small: 3 files, 64 KiB a file, 96 KiB a request.

const ENV = {
  LANTERN_INSTANCE_POLL_MS: '100',
  LANTERN_INSTANCE_START_WAIT_MS: '0',
  LANTERN_RELEASE_MAX_FILES: '3',
  LANTERN_RELEASE_MAX_FILE_BYTES: String(64 * 1024),
  LANTERN_RELEASE_MAX_BYTES: String(96 * 1024),
  // Objects nothing refers to are swept at once: what a request stores must be referred to.
  LANTERN_SWEEP_GRACE_MINUTES: '0',
};
const PASSWORD = 'seven quiet rivers under the hill';
const OPEN = 'demo-airlock-ecg';
/** The tiny dataset's ids are e0…e4 (ecg_id) and p0…p4 (patient_ngsci_id). */
const ROWS = 5;
const PURPOSE = 'Aggregate arrest rates by ECG morphology, for the paper';
const PNG = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
]);
const CLEAN_CSV = 'group,n,mean_age\nall,1204,63.2\narrest,57,66.0\n';

let server: TestServer;
let owner: SignedInUser;
let editor: SignedInUser;
let viewer: SignedInUser;
let outsider: SignedInUser;
let suspended: SignedInUser;
let reviewer: SignedInUser;
let admin: SignedInUser;
let projectId: string;
let instanceId: string;
let platformToken: string;
let kernel: JupyterKernel | undefined;

interface ReleaseFile {
  id: string;
  name: string;
  bytes: number;
  sha256: string;
  mediaType: string;
  checks: { code: string; message: string }[];
}

interface Release {
  id: string;
  projectId: string;
  state: string;
  purpose: string;
  requestedBy: { id: string; name: string };
  fileCount: number;
  totalBytes: number;
  flaggedFiles: number;
  instanceId: string | null;
  files: ReleaseFile[];
  decision: { approved: boolean; by: { id: string }; reason: string } | null;
  canDecide: boolean;
  canWithdraw: boolean;
  canDownload: boolean;
}

const api = (method: string, path: string, as: As = {}, body?: unknown) =>
  request(server, method, path, as, body);

const encode = (text: string) => new TextEncoder().encode(text);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The platform call ngsci makes, over HTTP with the instance's token (as from a Pod). */
function platformRelease(archive: Uint8Array, purpose = PURPOSE): Promise<Response> {
  return fetch(
    `${server.url}/platform/v1/releases?${new URLSearchParams({ purpose }).toString()}`,
    {
      method: 'POST',
      headers: {
        authorization: `Bearer ${platformToken}`,
        'x-ng-instance-id': instanceId,
        'x-lantern-csrf': '1',
        'content-type': 'application/zip',
      },
      body: archive,
    },
  );
}

/** A pending request of `files` (a clean table and a PNG by default), its id. */
async function requestRelease(
  files: { name: string; data: Uint8Array }[] = [
    { name: 'summary.csv', data: encode(CLEAN_CSV) },
    { name: 'plot.png', data: PNG },
  ],
): Promise<string> {
  const res = await platformRelease(writeZip(files));
  const body = (await res.json()) as { id: string; state: string; files: number };
  expect(res.status, JSON.stringify(body)).toBe(201);
  expect(body).toMatchObject({ state: 'pending', files: files.length });
  return body.id;
}

async function release(id: string, as: As = owner): Promise<Release> {
  const res = await api('GET', `/api/v1/releases/${id}`, as);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Release;
}

async function decide(id: string, approved: boolean, as: As = reviewer): Promise<Response> {
  return api('POST', `/api/v1/releases/${id}/decision`, as, {
    approved,
    reason: approved ? 'Aggregates only, no small cells.' : 'Holds row-level ids.',
  });
}

async function releaseCount(): Promise<number> {
  const rows = await server.ctx.database.db
    .selectFrom('release_request')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(rows.n);
}

async function objectCount(): Promise<number> {
  let n = 0;
  for await (const object of server.ctx.objectStore.list()) {
    n += object.size >= 0 ? 1 : 0;
  }
  return n;
}

/** Audit events of `action` in the project, newest first, as parsed bodies. */
async function auditOf(action: string) {
  await server.flushAudit();
  const events = await server.ctx.services.audit.list({ limit: 500, action });
  return events.map((event) => parseAuditBody(event.body));
}

const person = (email: string, roles = ['researcher']) =>
  createSignedInUser(server, { email, roles, password: PASSWORD });

beforeAll(async () => {
  server = await startTestServer(ENV);
  // The sandbox user (uid 4242) opens the binds: the data directory must be traversable.
  await chmod(server.dataDir, 0o711);
  const curator = await person('curator@example.org', ['curator']);
  owner = await person('olive@example.org');
  editor = await person('eddie@example.org');
  viewer = await person('vera@example.org');
  outsider = await person('nina@example.org');
  suspended = await person('sam@example.org');
  reviewer = await person('rita@example.org', ['reviewer']);
  admin = await person('adam@example.org', ['admin']);
  await publishTinyDataset(server, curator, OPEN, 'open', ROWS);
  const made = await api('POST', '/api/v1/projects', owner, {
    title: 'Arrest from resting ECGs',
    purpose: 'Whether the morphology of a resting ECG predicts sudden cardiac arrest.',
    datasets: [{ slug: OPEN, version: '1.0' }],
  });
  expect(made.status).toBe(201);
  projectId = ((await made.json()) as { id: string }).id;
  for (const [member, role] of [
    [editor, 'editor'],
    [viewer, 'viewer'],
    [suspended, 'viewer'],
  ] as const) {
    await addMemberDirectly(server, projectId, member.id, role);
  }
  const suspension = await api('POST', `/api/v1/admin/users/${suspended.id}/suspend`, admin, {
    reason: 'For the matrix.',
  });
  expect(suspension.status).toBe(200);

  const launched = await api('POST', `/api/v1/projects/${projectId}/instances`, owner, {
    type: 'cpu.xsmall',
    datasets: [{ slug: OPEN, version: '1.0' }],
  });
  expect(launched.status).toBe(202);
  instanceId = ((await launched.json()) as { id: string }).id;
  // The reconciler moves it; each look a real GET.
  const deadline = performance.now() + 90_000;
  let state = 'requested';
  while (['requested', 'starting'].includes(state) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const res = await api('GET', `/api/v1/instances/${instanceId}`, owner);
    state = ((await res.json()) as { state: string }).state;
  }
  expect(state).toBe('running');
  const connection = await server.ctx.services.instances.connection(instanceId);
  if (connection === null || !('socketPath' in connection.endpoint)) {
    throw new Error('the instance has no notebook socket');
  }
  kernel = await JupyterKernel.open(
    connection.endpoint.socketPath,
    connection.baseUrl,
    connection.token,
  );
  const run = await kernel.execute(
    "import os\nprint('token', os.environ['LANTERN_PLATFORM_TOKEN'])",
  );
  platformToken = /token (\S+)/u.exec(run.output)?.[1] ?? '';
  expect(platformToken).not.toBe('');
}, 180_000);

// Stopping a real sandbox takes up to its grace and a kill (10 s each); on a loaded machine the
// teardown once outlasted the default minute.
afterAll(async () => {
  await kernel?.close();
  await stopLeftoverInstances(server);
  await server.close();
}, 120_000);

describe(`the airlock on ${TEST_DIALECT}`, () => {
  it('takes files from inside the instance with ngsci.request_release, with their checks, and tells reviewers', async () => {
    const run = await kernel?.execute(
      [
        'import hashlib, ngsci',
        `open('/home/ngsci/project/summary.csv', 'w').write(${JSON.stringify(CLEAN_CSV)})`,
        "open('/home/ngsci/ids.txt', 'w').write('patients to look at: p1, p3\\n')",
        `open('/home/ngsci/project/plot.png', 'wb').write(bytes(${JSON.stringify([...PNG])}))`,
        "paths = ['/home/ngsci/project/summary.csv', '/home/ngsci/ids.txt', '/home/ngsci/project/plot.png']",
        `result, message = ngsci.request_release(paths, purpose=${JSON.stringify(PURPOSE)})`,
        "print('release', result.name, message)",
        "print('sha', hashlib.sha256(open(paths[0], 'rb').read()).hexdigest())",
        "folder = ngsci.request_release('/home/ngsci/project', purpose='everything')",
        "print('folder', folder[0].name, folder[1])",
        "twice = ngsci.request_release(['/home/ngsci/project/summary.csv', '/home/ngsci/project/summary.csv'], purpose='twice')",
        "print('twice', twice[0].name, twice[1])",
        "empty = ngsci.request_release(paths, purpose='   ')",
        "print('empty', empty[0].name, empty[1])",
        "open('/home/ngsci/project/more.txt', 'w').write('one more')",
        "four = ngsci.request_release(paths + ['/home/ngsci/project/more.txt'], purpose='four')",
        "print('four', four[0].name, four[1])",
      ].join('\n'),
    );
    expect(run?.status, run?.output).toBe('ok');
    const output = run?.output ?? '';
    const id = /release SUCCESS release request (rel_[0-9a-f]{16}) is waiting for review/u.exec(
      output,
    )?.[1];
    expect(id, output).toBeDefined();
    expect(output).toContain('folder FAILURE /home/ngsci/project is a folder');
    expect(output).toContain('twice FAILURE two files are named summary.csv');
    expect(output).toMatch(/empty FAILURE .*purpose/u);
    // This server's limits (LANTERN_RELEASE_MAX_FILES=3), asked by ngsci before it sends.
    expect(output).toContain('four FAILURE 4 files; a request holds at most 3');

    const made = await release(id ?? '', owner);
    expect(made).toMatchObject({
      projectId,
      state: 'pending',
      purpose: PURPOSE,
      requestedBy: { id: owner.id },
      instanceId,
      fileCount: 3,
      flaggedFiles: 1,
      decision: null,
      canDecide: false,
      canWithdraw: true,
      canDownload: false,
    });
    expect(made.files.map((f) => [f.name, f.mediaType, f.checks.map((c) => c.code)])).toEqual([
      ['summary.csv', 'text/csv', []],
      ['ids.txt', 'text/plain', ['identifiers']],
      ['plot.png', 'image/png', []],
    ]);
    expect(made.files[0]?.sha256).toBe(/sha (\w+)/u.exec(output)?.[1]);
    // The ids are masked: the message says how many and where, never the ids themselves.
    expect(made.files[1]?.checks[0]?.message).toBe(
      "2 pseudonymous ids of the project's datasets on 1 line (**, **)",
    );

    const mail = await server.ctx.services.email.list({ limit: 500 });
    expect(
      mail.some(
        (m) =>
          m.kind === 'release.requested' &&
          m.to_address === 'rita@example.org' &&
          m.body_text.includes(`/releases/${id ?? ''}`),
      ),
    ).toBe(true);
    const [event] = await auditOf('release.request');
    expect(event).toMatchObject({
      actor: `system:instance:${instanceId}`,
      target: `release:${id ?? ''}`,
      projectId,
      outcome: 'allowed',
    });
  });

  it('finds each disclosure check on a planted file and none on a clean one', async () => {
    const counts = 'site,n,deaths\na,120,40\nb,57,3\n';
    const rows = 'patient_ngsci_id,risk\nzz0,0.1\nzz1,0.2\n';
    const binary = Uint8Array.from([0x80, 0x04, 0x95, 0x00, 0x01]);
    const id = await requestRelease([
      { name: 'counts.csv', data: encode(counts) },
      { name: 'rows.csv', data: encode(rows) },
      { name: 'model.pkl', data: binary },
    ]);
    const clean = await requestRelease([
      { name: 'summary.csv', data: encode(CLEAN_CSV) },
      { name: 'notes.txt', data: encode('Arrest was rarer after 60 in both groups.\n') },
      { name: 'plot.png', data: PNG },
    ]);
    const planted = await release(id, reviewer);
    expect(planted.files.map((f) => f.checks)).toEqual([
      [{ code: 'small-counts', message: 'column deaths: 1 count from 1 to 9 (rows 3)' }],
      [{ code: 'row-level', message: 'column patient_ngsci_id holds ids on 2 rows' }],
      [
        {
          code: 'not-previewable',
          message: 'binary content: the reviewer cannot see what it holds',
        },
      ],
    ]);
    expect(planted.flaggedFiles).toBe(3);
    const cleanRelease = await release(clean, reviewer);
    expect(cleanRelease.files.map((f) => f.checks)).toEqual([[], [], []]);
    expect(cleanRelease.flaggedFiles).toBe(0);
  });

  it('refuses hostile archives whole, with why, and stores nothing', async () => {
    const csv = (name: string, bytes = 10) => ({ name, data: encode('x'.repeat(bytes)) });
    const before = { requests: await releaseCount(), objects: await objectCount() };
    const cases: [string, Uint8Array, number, RegExp][] = [
      ['a path in a name', writeZip([csv('ok.csv'), csv('results/a.csv')]), 400, /has a path/u],
      ['a way out', writeZip([csv('../../etc/passwd')]), 400, /has a path/u],
      ['a name twice', writeZip([csv('a.csv'), csv('a.csv')]), 400, /holds "a.csv" twice/u],
      [
        'more files than allowed',
        writeZip([csv('a'), csv('b'), csv('c'), csv('d')]),
        413,
        /more than the limit of 3/u,
      ],
      ['a file too large', writeZip([csv('big.csv', 64 * 1024 + 1)]), 413, /limit of 65536/u],
      [
        'too much together',
        writeZip([csv('a.csv', 60 * 1024), csv('b.csv', 40 * 1024)]),
        413,
        /limit of 98304 bytes together/u,
      ],
      ['not a zip', encode('a,b\n1,2\n'), 400, /not a ZIP archive/u],
      // Past the bytes the platform reads (the request limit and 1 MiB for the ZIP's own bytes):
      // read through and thrown away, so that the client reads why rather than a cut connection.
      [
        'an archive past the bytes read',
        new Uint8Array(96 * 1024 + 1024 * 1024 + 1),
        413,
        /holds at most 1146880 bytes/u,
      ],
      ['no file', writeZip([]), 400, /holds no file/u],
    ];
    for (const [what, archive, status, detail] of cases) {
      const res = await platformRelease(archive);
      const body = (await res.json()) as { detail: string };
      expect(res.status, `${what}: ${body.detail}`).toBe(status);
      expect(body.detail, what).toMatch(detail);
    }
    const noPurpose = await platformRelease(writeZip([csv('a.csv')]), ' ');
    expect(noPurpose.status).toBe(400);
    expect(((await noPurpose.json()) as { detail: string }).detail).toMatch(/purpose/u);
    expect({ requests: await releaseCount(), objects: await objectCount() }).toEqual(before);
  });

  it("refuses a request for a viewer, a suspended member or an outsider, whoever's instance asks", async () => {
    // The instance service passes its instance's project and user on; here that user varies.
    const ask = (userId: string) =>
      server.ctx.services.releases.request(
        { projectId, userId, instanceId },
        { purpose: PURPOSE, archive: writeZip([{ name: 'a.csv', data: encode(CLEAN_CSV) }]) },
      );
    const before = { requests: await releaseCount(), objects: await objectCount() };
    await expect(ask(viewer.id)).rejects.toMatchObject({
      code: 'forbidden',
      message: 'a viewer of this project may not request a release; only owners and editors may',
    });
    for (const userId of [suspended.id, outsider.id]) {
      await expect(ask(userId)).rejects.toMatchObject({
        code: 'forbidden',
        message: "the instance's user is no longer an active member of its project",
      });
    }
    expect({ requests: await releaseCount(), objects: await objectCount() }).toEqual(before);
  });

  it('lets a reviewer decide only with a reason, once, and never a request they made', async () => {
    const id = await requestRelease();
    const noReason = await api('POST', `/api/v1/releases/${id}/decision`, reviewer, {
      approved: true,
      reason: '  ',
    });
    expect(noReason.status).toBe(400);
    expect((await release(id)).state).toBe('pending');

    const approved = await decide(id, true);
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({
      state: 'approved',
      decision: {
        approved: true,
        by: { id: reviewer.id },
        reason: 'Aggregates only, no small cells.',
      },
      canDecide: false,
    });
    const again = await decide(id, false);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { detail: string }).detail).toBe(
      'this request is approved; only a pending one is decided',
    );
    const withdrawn = await api('POST', `/api/v1/releases/${id}/withdraw`, owner);
    expect(withdrawn.status).toBe(409);
    const mail = await server.ctx.services.email.list({ limit: 500 });
    expect(
      mail.some(
        (m) =>
          m.kind === 'release.decision' &&
          m.to_address === 'olive@example.org' &&
          m.body_text.includes('Aggregates only, no small cells.'),
      ),
    ).toBe(true);

    // A reviewer who is also a member asks, as the platform asks for their own instance; their
    // request is theirs to wait on, and another reviewer's to decide.
    await addMemberDirectly(server, projectId, reviewer.id, 'editor');
    const own = await server.ctx.services.releases.request(
      { projectId, userId: reviewer.id, instanceId },
      { purpose: PURPOSE, archive: writeZip([{ name: 'mine.csv', data: encode(CLEAN_CSV) }]) },
    );
    const refused = await decide(own.id, true);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toBe(
      'you made this request; another reviewer must decide it',
    );
    expect((await release(own.id, reviewer)).canDecide).toBe(false);
    expect((await decide(own.id, false, admin)).status).toBe(200);
    await server.ctx.database.db
      .deleteFrom('project_member')
      .where('project_id', '=', projectId)
      .where('user_id', '=', reviewer.id)
      .execute();
  });

  it('gives approved files to members byte for byte with their SHA-256, and only approved ones', async () => {
    const csv = encode(CLEAN_CSV);
    const id = await requestRelease([
      { name: 'résumé des taux.csv', data: csv },
      { name: 'plot.png', data: PNG },
    ]);
    const [table, image] = (await release(id)).files;
    const content = (fileId = table?.id ?? '') =>
      api('GET', `/api/v1/releases/${id}/files/${fileId}/content`, viewer);
    const pending = await content();
    expect(pending.status).toBe(409);
    expect((await decide(id, true)).status).toBe(200);

    const got = await content();
    expect(got.status).toBe(200);
    const bytes = new Uint8Array(await got.arrayBuffer());
    expect(Buffer.from(bytes).equals(Buffer.from(csv))).toBe(true);
    expect(got.headers.get('x-content-sha256')).toBe(sha256(csv));
    expect(table?.sha256).toBe(sha256(csv));
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('content-disposition')).toBe(
      `attachment; filename="r_sum_ des taux.csv"; filename*=UTF-8''r%C3%A9sum%C3%A9%20des%20taux.csv`,
    );
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');

    const shown = await api(
      'GET',
      `/api/v1/releases/${id}/files/${image?.id ?? ''}/image`,
      reviewer,
    );
    expect(shown.status).toBe(200);
    expect(shown.headers.get('content-type')).toBe('image/png');
    expect(shown.headers.get('content-disposition')).toMatch(/^inline; /u);
    expect(shown.headers.get('content-security-policy')).toContain('sandbox');
    expect(Buffer.from(await shown.arrayBuffer()).equals(Buffer.from(PNG))).toBe(true);
    const notImage = await api(
      'GET',
      `/api/v1/releases/${id}/files/${table?.id ?? ''}/image`,
      owner,
    );
    expect(notImage.status).toBe(415);

    const preview = await api(
      'GET',
      `/api/v1/releases/${id}/files/${table?.id ?? ''}/preview`,
      reviewer,
    );
    expect(await preview.json()).toEqual({
      kind: 'table',
      columns: ['group', 'n', 'mean_age'],
      rows: [
        ['all', '1204', '63.2'],
        ['arrest', '57', '66.0'],
      ],
      totalRows: 2,
      truncated: false,
    });

    const [download] = await auditOf('release.download');
    expect(download).toMatchObject({
      actor: `user:${viewer.id}`,
      target: `release:${id}`,
      projectId,
      details: { file: table?.id, sha256: sha256(csv), bytes: csv.length },
    });
  });

  it('works through the SDK with API tokens: the queue, a preview, a decision, a download', async () => {
    const client = async (as: SignedInUser, scope: string[]) => {
      const made = await api('POST', '/api/v1/auth/tokens', as, {
        name: 'airlock scripts',
        scope,
        expiresInDays: 1,
      });
      expect(made.status).toBe(201);
      const { token } = (await made.json()) as { token: string };
      return createLanternClient({ baseUrl: server.url, token });
    };
    const rita = await client(reviewer, ['account', 'release.review']);
    const vera = await client(viewer, ['account', 'project.work']);
    const id = await requestRelease();
    expect((await rita.listReleaseQueue()).releases.map((r) => r.id)).toContain(id);
    expect((await vera.listProjectReleases(projectId)).releases[0]?.id).toBe(id);
    const [table] = (await rita.getRelease(id)).files;
    const fileId = table?.id ?? '';
    expect(await rita.previewReleaseFile(id, fileId)).toMatchObject({
      kind: 'table',
      totalRows: 2,
    });
    await expect(vera.downloadReleaseFile(id, fileId)).rejects.toMatchObject({
      status: 409,
      code: 'conflict',
    });
    await expect(vera.decideRelease(id, { approved: true, reason: 'mine' })).rejects.toBeInstanceOf(
      ApiError,
    );
    const decided = await rita.decideRelease(id, { approved: true, reason: 'Aggregates only.' });
    expect(decided).toMatchObject({ state: 'approved', canDecide: false });
    const { bytes, sha256: stored } = await vera.downloadReleaseFile(id, fileId);
    expect(new TextDecoder().decode(bytes)).toBe(CLEAN_CSV);
    expect(stored).toBe(sha256(bytes));
    // Streamed: the same bytes, the size and SHA-256 the server declared before any of them.
    const stream = await vera.downloadReleaseFileStream(id, fileId);
    expect(stream).toMatchObject({ sha256: stored, size: bytes.byteLength });
    expect(new Uint8Array(await new Response(stream.body).arrayBuffer())).toEqual(bytes);
    // Another project's file is as missing as one that does not exist, the same words for both.
    const nina = await client(outsider, ['account', 'project.work']);
    const missing = 'rel_0000000000000000';
    for (const [release, detail] of [
      [id, `there is no release request ${id}`],
      [missing, `there is no release request ${missing}`],
    ] as const) {
      await expect(nina.downloadReleaseFileStream(release, fileId)).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
        problem: { detail },
      });
    }
    await expect(vera.withdrawRelease(id)).rejects.toMatchObject({ status: 403 });
  });

  it('keeps release objects through the unreferenced-object sweep', async () => {
    const id = await requestRelease([{ name: 'kept.csv', data: encode('kept,1\n') }]);
    const [file] = (await release(id)).files;
    const swept = await server.ctx.services.objectSweep.sweep();
    expect(swept.skipped).toBeNull();
    const preview = await api(
      'GET',
      `/api/v1/releases/${id}/files/${file?.id ?? ''}/preview`,
      owner,
    );
    expect(preview.status).toBe(200);
    expect(await preview.json()).toMatchObject({ kind: 'table', columns: ['kept', '1'] });
  });

  it('lists the project’s requests newest first and the queue oldest first, 50 a page', async () => {
    const list = async (path: string, as: As) => {
      const ids: string[] = [];
      let next: string | null = '';
      while (next !== null) {
        const res = await api('GET', `${path}${path.includes('?') ? '&' : '?'}cursor=${next}`, as);
        expect(res.status).toBe(200);
        const page = (await res.json()) as {
          releases: { id: string; requestedAt: string }[];
          next: string | null;
        };
        expect(page.releases.length).toBeLessThanOrEqual(50);
        ids.push(...page.releases.map((r) => `${r.requestedAt} ${r.id}`));
        next = page.next;
      }
      return ids;
    };
    while ((await releaseCount()) <= 60) {
      await requestRelease([{ name: 'a.csv', data: encode('a\n1\n') }]);
    }
    const mine = await list(`/api/v1/projects/${projectId}/releases`, viewer);
    expect(mine).toHaveLength(await releaseCount());
    expect(mine).toEqual([...mine].sort().reverse());
    const queue = await list('/api/v1/releases', reviewer);
    expect(queue).toEqual([...queue].sort());
    expect(queue.length).toBeGreaterThan(50);
    const bad = await api('GET', '/api/v1/releases?cursor=bm90LWEtY3Vyc29y', reviewer);
    expect(bad.status).toBe(400);
  }, 120_000);
});

type Who = 'owner' | 'editor' | 'viewer' | 'non-member' | 'suspended' | 'reviewer' | 'admin';
interface Fixture {
  id: string;
  tableId: string;
  imageId: string;
}

/**
 * Every release route and what each caller gets, on a fresh pending request of the project's
 * owner (approved first where `approved`). Anyone not listed: 404 for a member route (as for a
 * request that does not exist), 403 where the permission itself is missing; the suspended member
 * gets 401 everywhere (their sessions ended with the suspension).
 */
/** Members and reviewers see a request; anyone else is told it does not exist. */
const SEEN_BY_MEMBERS_AND_REVIEWERS = {
  owner: 200,
  editor: 200,
  viewer: 200,
  'non-member': 404,
  reviewer: 200,
  admin: 200,
};
/** `release.review` only: everyone else lacks the permission itself. */
const REVIEWERS_ONLY = {
  owner: 403,
  editor: 403,
  viewer: 403,
  'non-member': 403,
  reviewer: 200,
  admin: 200,
};

const ROUTES: {
  name: string;
  method: string;
  path: (f: Fixture) => string;
  body?: unknown;
  approved?: boolean;
  expected: Record<Exclude<Who, 'suspended'>, number>;
  /** The state the request is in after a success. */
  after?: string;
}[] = [
  {
    name: 'list the project',
    method: 'GET',
    path: () => `/api/v1/projects/${projectId}/releases`,
    expected: {
      owner: 200,
      editor: 200,
      viewer: 200,
      'non-member': 404,
      reviewer: 404,
      admin: 404,
    },
  },
  {
    name: 'the queue',
    method: 'GET',
    path: () => '/api/v1/releases',
    expected: REVIEWERS_ONLY,
  },
  {
    name: 'read',
    method: 'GET',
    path: (f) => `/api/v1/releases/${f.id}`,
    expected: SEEN_BY_MEMBERS_AND_REVIEWERS,
  },
  {
    name: 'preview',
    method: 'GET',
    path: (f) => `/api/v1/releases/${f.id}/files/${f.tableId}/preview`,
    expected: SEEN_BY_MEMBERS_AND_REVIEWERS,
  },
  {
    name: 'image',
    method: 'GET',
    path: (f) => `/api/v1/releases/${f.id}/files/${f.imageId}/image`,
    expected: SEEN_BY_MEMBERS_AND_REVIEWERS,
  },
  {
    name: 'download pending',
    method: 'GET',
    path: (f) => `/api/v1/releases/${f.id}/files/${f.tableId}/content`,
    expected: {
      owner: 409,
      editor: 409,
      viewer: 409,
      'non-member': 404,
      reviewer: 403,
      admin: 403,
    },
  },
  {
    name: 'download approved',
    method: 'GET',
    path: (f) => `/api/v1/releases/${f.id}/files/${f.tableId}/content`,
    approved: true,
    expected: {
      owner: 200,
      editor: 200,
      viewer: 200,
      'non-member': 404,
      reviewer: 403,
      admin: 403,
    },
  },
  {
    name: 'decide',
    method: 'POST',
    path: (f) => `/api/v1/releases/${f.id}/decision`,
    body: { approved: false, reason: 'Row-level data.' },
    expected: REVIEWERS_ONLY,
    after: 'rejected',
  },
  {
    name: 'withdraw',
    method: 'POST',
    path: (f) => `/api/v1/releases/${f.id}/withdraw`,
    expected: {
      owner: 200,
      editor: 403,
      viewer: 403,
      'non-member': 404,
      reviewer: 403,
      admin: 403,
    },
    after: 'withdrawn',
  },
];

const WHO: Who[] = ['owner', 'editor', 'viewer', 'non-member', 'suspended', 'reviewer', 'admin'];

describe(`the matrix of callers against every release route on ${TEST_DIALECT}`, () => {
  async function fixture(approved: boolean): Promise<Fixture> {
    const id = await requestRelease();
    if (approved) {
      expect((await decide(id, true)).status).toBe(200);
    }
    const [table, image] = (await release(id)).files;
    return { id, tableId: table?.id ?? '', imageId: image?.id ?? '' };
  }

  const cases = ROUTES.flatMap((route) =>
    WHO.map((who) => ({
      route,
      who,
      expected: who === 'suspended' ? 401 : route.expected[who],
    })),
  );

  it.each(cases.map((c) => [c.route.name, c.who, c.expected, c] as const))(
    '%s as %s: %i',
    async (_name, who, expected, { route }) => {
      const f = await fixture(route.approved === true);
      const as: Record<Who, As> = {
        owner,
        editor,
        viewer,
        'non-member': outsider,
        suspended,
        reviewer,
        admin,
      };
      const res = await api(route.method, route.path(f), as[who], route.body);
      expect(res.status, await res.clone().text()).toBe(expected);
      const state = (await release(f.id)).state;
      const before = route.approved === true ? 'approved' : 'pending';
      // A refusal changed nothing; a success moved the request as the route says.
      expect(state).toBe(expected < 400 ? (route.after ?? before) : before);
      if (expected >= 400 && who !== 'suspended') {
        // Nothing of the request is told to a caller who may not act on it.
        expect(await res.clone().text()).not.toContain(PURPOSE);
      }
    },
  );
});

describe('the audit log and the archive', () => {
  it('records requests, decisions, withdrawals, previews, downloads and refusals', async () => {
    for (const action of [
      'release.request',
      'release.decide',
      'release.withdraw',
      'release.preview',
      'release.download',
    ]) {
      const events = await auditOf(action);
      expect(
        events.some((e) => e.outcome === 'allowed' && e.projectId === projectId),
        action,
      ).toBe(true);
    }
    const decisions = await auditOf('release.decide');
    expect(decisions.some((e) => e.outcome === 'denied' && e.actor === `user:${editor.id}`)).toBe(
      true,
    );
  });

  it('withdraws pending requests when the project is archived, and takes no more', async () => {
    // The archive stops the instance: its kernel is let go first.
    await kernel?.close();
    kernel = undefined;
    const pending = await requestRelease();
    const approved = await requestRelease();
    expect((await decide(approved, true)).status).toBe(200);
    const archived = await api('POST', `/api/v1/projects/${projectId}/archive`, owner);
    expect(archived.status).toBe(200);
    expect((await release(pending)).state).toBe('withdrawn');
    // What was approved stays approved, and its files still leave to members.
    expect((await release(approved)).state).toBe('approved');
    await expect(
      server.ctx.services.releases.request(
        { projectId, userId: owner.id, instanceId },
        { purpose: PURPOSE, archive: writeZip([{ name: 'late.csv', data: encode(CLEAN_CSV) }]) },
      ),
    ).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('archived') as unknown,
    });
  });
});
