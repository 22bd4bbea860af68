import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyThroughApi } from '../testing/applicants.js';
import { publishNextVersion, publishTinyDataset } from '../testing/datasets.js';
import { request, type As } from '../testing/http.js';
import { addMemberDirectly } from '../testing/projects.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

// Projects through HTTP (issue 7): creation with datasets, invitations, members and roles, the
// owner rule, access requests and their answers, newer versions offered, archiving, and the matrix
// of who may call which project route. One server for the file.

let server: TestServer;
const PASSWORD = 'seven quiet rivers under the hill';
const PURPOSE =
  'Whether the morphology of a resting ECG predicts sudden cardiac arrest within a year.';
const OPEN = 'demo-open-ecg';
const GATED = 'demo-gated-ecg';
let curator: SignedInUser;
let reviewer: SignedInUser;
let admin: SignedInUser;
let owner: SignedInUser;
let editor: SignedInUser;
let viewer: SignedInUser;
let outsider: SignedInUser;

interface Page {
  id: string;
  title: string;
  status: string;
  role: string;
  may: string[];
  members: { userId: string; email: string; role: string; active: boolean }[];
  invitations: { id: string; email: string; role: string; state: string }[];
  datasets: {
    id: string;
    slug: string;
    version: string;
    status: string;
    access: boolean;
    reason: string | null;
  }[];
  offers: { slug: string; version: string; notes: string; changeLog: { text: string }[] }[];
  activity: { action: string; actor: string; actorName: string | null; target: string | null }[];
}

const api = (method: string, path: string, as: As = {}, body?: unknown) =>
  request(server, method, path, as, body);

async function page(id: string, as: As = owner): Promise<Page> {
  await server.flushAudit();
  const res = await api('GET', `/api/v1/projects/${id}`, as);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

async function detail(res: Response): Promise<string> {
  return ((await res.json()) as { detail: string }).detail;
}

/** The secret of the newest invitation emailed to `email`, from the outbox. */
async function invitationToken(email: string): Promise<string> {
  const mail = (await server.ctx.services.email.list({ limit: 500 })).find(
    (m) => m.to_address === email && m.kind === 'project.invitation',
  );
  const token = /\/invitations#token=(lni_[a-z2-7]{52})/u.exec(mail?.body_text ?? '')?.[1];
  if (token === undefined) {
    throw new Error(`no invitation emailed to ${email}`);
  }
  return token;
}

async function createProject(
  as: As,
  datasets: { slug: string; version: string }[] = [],
  title = 'Arrest from resting ECGs',
): Promise<Page> {
  const res = await api('POST', '/api/v1/projects', as, { title, purpose: PURPOSE, datasets });
  expect(res.status).toBe(201);
  return (await res.json()) as Page;
}

async function inviteAndAccept(projectId: string, who: SignedInUser, role: string) {
  const email = `${who.id.slice(2).replace(/_example_org$/u, '')}@example.org`;
  const sent = await api('POST', `/api/v1/projects/${projectId}/invitations`, owner, {
    email,
    role,
  });
  expect(sent.status).toBe(201);
  const accepted = await api('POST', '/api/v1/invitations/accept', who, {
    token: await invitationToken(email),
  });
  expect(accepted.status).toBe(200);
}

const person = (email: string, roles = ['researcher']) =>
  createSignedInUser(server, { email, roles, password: PASSWORD });

beforeAll(async () => {
  server = await startTestServer();
  curator = await person('curator@example.org', ['curator']);
  reviewer = await person('rita@example.org', ['reviewer']);
  admin = await person('adam@example.org', ['admin']);
  owner = await person('olive@example.org');
  editor = await person('eddie@example.org');
  viewer = await person('vera@example.org');
  outsider = await person('nina@example.org');
  await publishTinyDataset(server, curator, OPEN, 'open', 2);
  await publishTinyDataset(server, curator, GATED, 'approval', 3);
});

afterAll(async () => {
  await server.close();
});

describe(`projects on ${TEST_DIALECT}`, () => {
  let projectId: string;

  it('creates a project: open datasets attach at once, approval ones become requests', async () => {
    const made = await createProject(owner, [
      { slug: OPEN, version: '1.0' },
      { slug: GATED, version: '1.0' },
    ]);
    projectId = made.id;
    expect(made.id).toMatch(/^prj_[0-9a-f]{16}$/u);
    expect(made).toMatchObject({ status: 'active', role: 'owner' });
    expect(made.members).toMatchObject([{ userId: owner.id, role: 'owner', active: true }]);
    expect(made.datasets).toMatchObject([
      { slug: GATED, version: '1.0', status: 'requested', access: false },
      { slug: OPEN, version: '1.0', status: 'attached', access: true },
    ]);
    const listed = await api('GET', '/api/v1/projects', owner);
    expect(await listed.json()).toMatchObject({
      projects: [{ id: made.id, role: 'owner', members: 1, datasets: 1, status: 'active' }],
    });
    const theirs = await api('GET', '/api/v1/projects', outsider);
    expect(await theirs.json()).toEqual({ projects: [] });
    const feed = (await page(made.id)).activity.map((a) => a.action);
    expect(feed).toEqual(['access.request', 'project.attach_dataset', 'project.create']);
    expect((await page(made.id)).activity[0]).toMatchObject({
      actor: `user:${owner.id}`,
      actorName: 'olive@example.org',
    });
  });

  it('refuses bad creations whole: unknown datasets and versions, nothing half-made', async () => {
    const unknown = await api('POST', '/api/v1/projects', owner, {
      title: 'Half',
      purpose: PURPOSE,
      datasets: [
        { slug: OPEN, version: '1.0' },
        { slug: 'demo-nothing-here', version: '1.0' },
      ],
    });
    expect(unknown.status).toBe(404);
    expect(await detail(unknown)).toBe('there is no dataset demo-nothing-here');
    const version = await api('POST', '/api/v1/projects', owner, {
      title: 'Half',
      purpose: PURPOSE,
      datasets: [{ slug: OPEN, version: '9.0' }],
    });
    expect(version.status).toBe(404);
    const short = await api('POST', '/api/v1/projects', owner, { title: 'Half', purpose: 'x' });
    expect(short.status).toBe(400);
    const listed = (await (await api('GET', '/api/v1/projects', owner)).json()) as {
      projects: { title: string }[];
    };
    expect(listed.projects.map((p) => p.title)).toEqual(['Arrest from resting ECGs']);
  });

  it('invites by email with a role; the link works once, and the invitee joins', async () => {
    const sent = await api('POST', `/api/v1/projects/${projectId}/invitations`, owner, {
      email: ' Eddie@Example.ORG ',
      role: 'editor',
    });
    expect(sent.status, await sent.clone().text()).toBe(201);
    expect(await sent.json()).toMatchObject({
      email: 'eddie@example.org',
      role: 'editor',
      state: 'pending',
    });
    const again = await api('POST', `/api/v1/projects/${projectId}/invitations`, owner, {
      email: 'eddie@example.org',
      role: 'viewer',
    });
    expect(again.status).toBe(409);
    expect(await detail(again)).toMatch(/^eddie@example\.org was invited already/);

    const mail = (await server.ctx.services.email.list({ limit: 500 })).find(
      (m) => m.to_address === 'eddie@example.org' && m.kind === 'project.invitation',
    );
    expect(mail?.subject).toBe(
      'olive@example.org invites you to the Lantern project "Arrest from resting ECGs"',
    );
    expect(mail?.body_text).toContain(`${server.url}/invitations#token=lni_`);
    const token = await invitationToken('eddie@example.org');
    // Only the hash of the link's secret is kept.
    const stored = await sql<{
      token_hash: string;
    }>`select token_hash from project_invitation`.execute(server.ctx.database.db);
    expect(stored.rows.map((r) => r.token_hash).join()).not.toContain(token);

    const wrongPerson = await api('POST', '/api/v1/invitations/accept', outsider, { token });
    expect(wrongPerson.status).toBe(403);
    expect(await detail(wrongPerson)).toBe(
      'this invitation was sent to eddie@example.org; sign in with that address to accept it',
    );
    const garbled = await api('POST', '/api/v1/invitations/accept', editor, { token: 'lni_nope' });
    expect(garbled.status).toBe(404);
    const joined = await api('POST', '/api/v1/invitations/accept', editor, { token });
    expect(joined.status).toBe(200);
    expect(await joined.json()).toMatchObject({ id: projectId, role: 'editor' });
    const twice = await api('POST', '/api/v1/invitations/accept', editor, { token });
    expect(twice.status).toBe(409);
    expect(await detail(twice)).toBe('this invitation link was used already; each link works once');
    const member = await api('POST', `/api/v1/projects/${projectId}/invitations`, owner, {
      email: 'eddie@example.org',
      role: 'viewer',
    });
    expect(member.status).toBe(409);
    expect(await detail(member)).toBe('eddie@example.org is a member of this project already');
  });

  it('refuses an expired link, and lets an owner withdraw an open one', async () => {
    await api('POST', `/api/v1/projects/${projectId}/invitations`, owner, {
      email: 'vera@example.org',
      role: 'viewer',
    });
    const token = await invitationToken('vera@example.org');
    await sql`update project_invitation set expires_at = now() - interval '1 minute'
      where email = 'vera@example.org'`.execute(server.ctx.database.db);
    const expired = await api('POST', '/api/v1/invitations/accept', viewer, { token });
    expect(expired.status).toBe(409);
    expect(await detail(expired)).toMatch(/has expired; ask an owner of the project/);
    // An expired invitation is no obstacle to a new one.
    const renewed = await api('POST', `/api/v1/projects/${projectId}/invitations`, owner, {
      email: 'vera@example.org',
      role: 'viewer',
    });
    expect(renewed.status).toBe(201);
    const { id } = (await renewed.json()) as { id: string };
    const withdrawn = await api('DELETE', `/api/v1/projects/${projectId}/invitations/${id}`, owner);
    expect(withdrawn.status).toBe(204);
    const refused = await api('POST', '/api/v1/invitations/accept', viewer, {
      token: await invitationToken('vera@example.org'),
    });
    expect(refused.status).toBe(409);
    expect(await detail(refused)).toMatch(/withdrawn/);
    await inviteAndAccept(projectId, viewer, 'viewer');
    const members = (await page(projectId)).members.map((m) => [m.email, m.role]);
    expect(members).toEqual([
      ['olive@example.org', 'owner'],
      ['eddie@example.org', 'editor'],
      ['vera@example.org', 'viewer'],
    ]);
  });

  it('makes an invitee without an account register and be admitted before joining', async () => {
    const email = 'newcomer@uni.example';
    expect(
      (
        await api('POST', `/api/v1/projects/${projectId}/invitations`, owner, {
          email,
          role: 'viewer',
        })
      ).status,
    ).toBe(201);
    const token = await invitationToken(email);
    const applicant = await applyThroughApi(server, email);
    const early = await api('POST', '/api/v1/invitations/accept', applicant, { token });
    expect(early.status).toBe(403);
    expect(await detail(early)).toMatch(/^only admitted researchers join projects/);
    await api('PUT', '/api/v1/admission/me/evidence', applicant, {
      certificateId: 'CITI-12345',
      expiresOn: '2099-01-01',
    });
    const admitted = await api('POST', '/api/v1/admission/decisions', reviewer, {
      userIds: [applicant.id],
      decision: 'admit',
      reason: 'Training and purpose in order.',
    });
    expect(admitted.status).toBe(200);
    const noTerms = await api('POST', '/api/v1/invitations/accept', applicant, { token });
    expect(noTerms.status).toBe(403);
    expect(await detail(noTerms)).toMatch(/^accept the current version of the terms/);
    const terms = (await (await api('GET', '/api/v1/terms', applicant)).json()) as {
      version: number;
    };
    await api('POST', '/api/v1/terms/accept', applicant, { version: terms.version });
    const joined = await api('POST', '/api/v1/invitations/accept', applicant, { token });
    expect(joined.status).toBe(200);
    expect(await joined.json()).toMatchObject({ role: 'viewer' });
    const removed = await api(
      'DELETE',
      `/api/v1/projects/${projectId}/members/${applicant.id}`,
      owner,
    );
    expect(removed.status).toBe(200);
    expect(
      (await api('GET', `/api/v1/projects/${projectId}`, applicant)).status,
      'a removed member sees the project no more',
    ).toBe(404);
  });

  it('hides a project from non-members as if it did not exist, and lets viewers only look', async () => {
    const missing = await api('GET', '/api/v1/projects/prj_0000000000000000', outsider);
    const theirs = await api('GET', `/api/v1/projects/${projectId}`, outsider);
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await detail(theirs)).toBe(`there is no project ${projectId}`);
    const looked = await page(projectId, viewer);
    expect(looked.may).toEqual(['project.read', 'project.leave']);
    const rename = await api('PATCH', `/api/v1/projects/${projectId}`, viewer, { title: 'Mine' });
    expect(rename.status).toBe(403);
    expect(await detail(rename)).toBe(
      'a viewer of this project may not update; only owners and editors may',
    );
    // The denial is in the audit log, against the project.
    const events = await server.auditEventsFor(rename.headers.get('x-request-id') ?? '');
    expect(events).toMatchObject([
      { action: 'project.update', outcome: 'denied', projectId, actor: `user:${viewer.id}` },
    ]);
    const renamed = await api('PATCH', `/api/v1/projects/${projectId}`, editor, {
      title: 'Arrest from resting ECGs, 2026',
    });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ title: 'Arrest from resting ECGs, 2026' });
  });

  it('answers access requests with a reason, per dataset and version', async () => {
    const asResearcher = await api('GET', '/api/v1/access-requests', owner);
    expect(asResearcher.status).toBe(403);
    const queue = await api('GET', '/api/v1/access-requests', reviewer);
    const { requests } = (await queue.json()) as {
      requests: { id: string; slug: string; project: { purpose: string }; requestedBy: object }[];
    };
    expect(requests).toMatchObject([
      {
        slug: GATED,
        version: '1.0',
        status: 'requested',
        project: { id: projectId, purpose: PURPOSE },
        requestedBy: { email: 'olive@example.org' },
      },
    ]);
    const id = requests[0]?.id ?? '';
    const noReason = await api('POST', `/api/v1/access-requests/${id}/decision`, reviewer, {
      decision: 'approve',
      reason: '',
    });
    expect(noReason.status).toBe(400);
    const approved = await api('POST', `/api/v1/access-requests/${id}/decision`, reviewer, {
      decision: 'approve',
      reason: 'The purpose needs these ECGs, and nothing more.',
    });
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ status: 'attached', access: true });
    const again = await api('POST', `/api/v1/access-requests/${id}/decision`, reviewer, {
      decision: 'refuse',
      reason: 'Changed my mind.',
    });
    expect(again.status).toBe(409);
    const shown = await page(projectId, viewer);
    expect(shown.datasets.find((d) => d.slug === GATED)).toMatchObject({
      status: 'attached',
      access: true,
      reason: 'The purpose needs these ECGs, and nothing more.',
    });
    expect(shown.activity[0]).toMatchObject({
      action: 'access.approve',
      actor: `user:${reviewer.id}`,
    });
    const mail = (await server.ctx.services.email.list({ limit: 500 })).find(
      (m) => m.kind === 'project.access_decision',
    );
    expect(mail).toMatchObject({ to_address: 'olive@example.org' });
    expect(mail?.body_text).toContain('The purpose needs these ECGs, and nothing more.');
  });

  it('refuses a request with a reason the members read; a refused version gives no access', async () => {
    const made = await createProject(outsider, [{ slug: GATED, version: '1.0' }], 'Refused one');
    const { requests } = (await (await api('GET', '/api/v1/access-requests', reviewer)).json()) as {
      requests: { id: string; project: { id: string } }[];
    };
    const id = requests.find((r) => r.project.id === made.id)?.id ?? '';
    const refused = await api('POST', `/api/v1/access-requests/${id}/decision`, reviewer, {
      decision: 'refuse',
      reason: 'The purpose does not need pathology-grade data.',
    });
    expect(refused.status).toBe(200);
    const seen = await page(made.id, outsider);
    expect(seen.datasets).toMatchObject([
      {
        slug: GATED,
        status: 'refused',
        access: false,
        reason: 'The purpose does not need pathology-grade data.',
      },
    ]);
    expect(seen.activity[0]).toMatchObject({ action: 'access.refuse' });
    const answered = (await (
      await api('GET', '/api/v1/access-requests?status=refused', reviewer)
    ).json()) as { requests: { id: string }[] };
    expect(answered.requests.map((r) => r.id)).toContain(id);
    // Another project's invitation is not this project's to withdraw: it does not exist here.
    const sent = await api('POST', `/api/v1/projects/${projectId}/invitations`, owner, {
      email: 'someone@example.org',
      role: 'viewer',
    });
    const invitationId = ((await sent.json()) as { id: string }).id;
    const crossed = await api(
      'DELETE',
      `/api/v1/projects/${made.id}/invitations/${invitationId}`,
      outsider,
    );
    expect(crossed.status).toBe(404);
    expect(await detail(crossed)).toBe('this project has no such invitation');
    expect(
      (await api('DELETE', `/api/v1/projects/${projectId}/invitations/${invitationId}`, owner))
        .status,
    ).toBe(204);
  });

  it('offers a newer version with its change log without moving the project onto it', async () => {
    await publishNextVersion(server, curator, OPEN, 3);
    const offered = await page(projectId);
    expect(offered.datasets.filter((d) => d.slug === OPEN).map((d) => d.version)).toEqual(['1.0']);
    expect(offered.offers).toMatchObject([
      { slug: OPEN, version: '1.1', notes: '3 synthetic ECGs.' },
    ]);
    expect(offered.offers[0]?.changeLog.map((e) => e.text).join(' ')).toMatch(/1 row added/);
    const taken = await api('POST', `/api/v1/projects/${projectId}/datasets`, editor, {
      slug: OPEN,
      version: '1.1',
    });
    expect(taken.status).toBe(200);
    const after = (await taken.json()) as Page;
    expect(after.offers).toEqual([]);
    expect(after.datasets.filter((d) => d.slug === OPEN).map((d) => [d.version, d.status])).toEqual(
      [
        ['1.1', 'attached'],
        ['1.0', 'attached'],
      ],
    );
    const twice = await api('POST', `/api/v1/projects/${projectId}/datasets`, editor, {
      slug: OPEN,
      version: '1.1',
    });
    expect(twice.status).toBe(409);
  });

  it('refuses to attach a retired version, naming the current one', async () => {
    const retired = await api('POST', `/api/v1/datasets/${OPEN}/versions/1.0/retire`, curator);
    expect(retired.status).toBe(200);
    const other = await createProject(outsider, [], 'Another project');
    const refused = await api('POST', `/api/v1/projects/${other.id}/datasets`, outsider, {
      slug: OPEN,
      version: '1.0',
    });
    expect(refused.status).toBe(409);
    expect(await detail(refused)).toBe(
      `version 1.0 of ${OPEN} is retired and can no longer be attached; the current version is 1.1`,
    );
    expect((await page(other.id, outsider)).datasets).toEqual([]);
  });

  it('always keeps an owner: the last one is neither demoted, removed nor let go', async () => {
    const demote = await api('PUT', `/api/v1/projects/${projectId}/members/${owner.id}`, owner, {
      role: 'editor',
    });
    expect(demote.status).toBe(409);
    expect(await detail(demote)).toMatch(/^this is the last owner of the project/);
    const remove = await api('DELETE', `/api/v1/projects/${projectId}/members/${owner.id}`, owner);
    expect(remove.status).toBe(409);
    const leave = await api('POST', `/api/v1/projects/${projectId}/leave`, owner);
    expect(leave.status).toBe(409);
    expect(await detail(leave)).toMatch(/transfer ownership to another member before you leave/);
    const byEditor = await api('POST', `/api/v1/projects/${projectId}/transfer`, editor, {
      userId: editor.id,
    });
    expect(byEditor.status).toBe(403);
    const transferred = await api('POST', `/api/v1/projects/${projectId}/transfer`, owner, {
      userId: editor.id,
    });
    expect(transferred.status).toBe(200);
    expect(((await transferred.json()) as Page).members.map((m) => [m.email, m.role])).toEqual([
      ['eddie@example.org', 'owner'],
      ['olive@example.org', 'editor'],
      ['vera@example.org', 'viewer'],
    ]);
    const promoted = await api(
      'PUT',
      `/api/v1/projects/${projectId}/members/${viewer.id}`,
      editor,
      {
        role: 'owner',
      },
    );
    expect(promoted.status).toBe(200);
    expect((await api('POST', `/api/v1/projects/${projectId}/leave`, editor)).status).toBe(204);
    expect((await api('GET', `/api/v1/projects/${projectId}`, editor)).status).toBe(404);
    const feed = (await page(projectId, owner)).activity.map((a) => a.action);
    expect(feed.slice(0, 3)).toEqual(['project.leave', 'project.change_role', 'project.transfer']);
  });

  it("ends a suspended member's access at once", async () => {
    const sam = await person('sam@example.org');
    const made = await createProject(sam, [{ slug: OPEN, version: '1.1' }], 'Sam and Olive');
    await api('POST', `/api/v1/projects/${made.id}/invitations`, sam, {
      email: 'olive@example.org',
      role: 'owner',
    });
    await api('POST', '/api/v1/invitations/accept', owner, {
      token: await invitationToken('olive@example.org'),
    });
    expect((await api('GET', `/api/v1/projects/${made.id}`, sam)).status).toBe(200);
    const suspended = await api('POST', `/api/v1/admin/users/${sam.id}/suspend`, admin, {
      reason: 'Shared credentials.',
    });
    expect(suspended.status).toBe(200);
    expect((await api('GET', `/api/v1/projects/${made.id}`, sam)).status).toBe(401);
    const seen = await page(made.id, owner);
    expect(seen.members.find((m) => m.userId === sam.id)).toMatchObject({ active: false });
    // A suspended owner is no owner to keep: the other may leave Sam's role behind and remove them.
    expect(
      (await api('DELETE', `/api/v1/projects/${made.id}/members/${sam.id}`, owner)).status,
    ).toBe(200);
  });

  it('archives: access ends, open invitations and requests are withdrawn, the record stays', async () => {
    const made = await createProject(owner, [
      { slug: OPEN, version: '1.1' },
      { slug: GATED, version: '1.0' },
    ]);
    await api('POST', `/api/v1/projects/${made.id}/invitations`, owner, {
      email: 'later@example.org',
      role: 'viewer',
    });
    const archived = await api('POST', `/api/v1/projects/${made.id}/archive`, owner);
    expect(archived.status).toBe(200);
    const body = (await archived.json()) as Page;
    expect(body.status).toBe('archived');
    expect(body.datasets.map((d) => [d.slug, d.status, d.access])).toEqual([
      [GATED, 'withdrawn', false],
      [OPEN, 'attached', false],
    ]);
    expect(body.invitations.map((i) => i.state)).toEqual(['revoked']);
    expect(body.may).toEqual(['project.read']);
    const renamed = await api('PATCH', `/api/v1/projects/${made.id}`, owner, { title: 'After' });
    expect(renamed.status).toBe(409);
    expect(await detail(renamed)).toMatch(/archived/);
    const queue = (await (await api('GET', '/api/v1/access-requests', reviewer)).json()) as {
      requests: { project: { id: string } }[];
    };
    expect(queue.requests.filter((r) => r.project.id === made.id)).toEqual([]);
    const listed = (await (await api('GET', '/api/v1/projects', owner)).json()) as {
      projects: { id: string; status: string }[];
    };
    expect(listed.projects.find((p) => p.id === made.id)).toMatchObject({ status: 'archived' });
    const feed = (await page(made.id)).activity[0];
    expect(feed).toMatchObject({
      action: 'project.archive',
      target: `project:${made.id}`,
    });
  });
});

type Who = 'owner' | 'editor' | 'viewer' | 'non-member' | 'suspended';
interface Fixture {
  id: string;
  invitationId: string;
}

/**
 * Every project route, and what each member role gets (a success, or 409 where a project rule
 * refuses what the role may do); a role not listed gets 403, a non-member 404, a suspended member
 * 401 (their sessions ended with the suspension).
 */
const ROUTES: {
  name: string;
  method: string;
  path: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  allowed: Partial<Record<'owner' | 'editor' | 'viewer', number>>;
}[] = [
  {
    name: 'read',
    method: 'GET',
    path: (f) => `/api/v1/projects/${f.id}`,
    allowed: { owner: 200, editor: 200, viewer: 200 },
  },
  {
    name: 'update',
    method: 'PATCH',
    path: (f) => `/api/v1/projects/${f.id}`,
    body: () => ({ purpose: `${PURPOSE} Now with a control group.` }),
    allowed: { owner: 200, editor: 200 },
  },
  {
    name: 'add a dataset',
    method: 'POST',
    path: (f) => `/api/v1/projects/${f.id}/datasets`,
    body: () => ({ slug: GATED, version: '1.0' }),
    allowed: { owner: 200, editor: 200 },
  },
  {
    name: 'invite',
    method: 'POST',
    path: (f) => `/api/v1/projects/${f.id}/invitations`,
    body: (f) => ({ email: `guest-${f.id}@example.org`, role: 'viewer' }),
    allowed: { owner: 201 },
  },
  {
    name: 'withdraw an invitation',
    method: 'DELETE',
    path: (f) => `/api/v1/projects/${f.id}/invitations/${f.invitationId}`,
    allowed: { owner: 204 },
  },
  {
    name: 'change a role',
    method: 'PUT',
    path: (f) => `/api/v1/projects/${f.id}/members/${viewer.id}`,
    body: () => ({ role: 'editor' }),
    allowed: { owner: 200 },
  },
  {
    name: 'remove a member',
    method: 'DELETE',
    path: (f) => `/api/v1/projects/${f.id}/members/${viewer.id}`,
    allowed: { owner: 200 },
  },
  {
    name: 'leave',
    method: 'POST',
    path: (f) => `/api/v1/projects/${f.id}/leave`,
    // The only owner may not leave (a project always keeps an owner).
    allowed: { owner: 409, editor: 204, viewer: 204 },
  },
  {
    name: 'transfer ownership',
    method: 'POST',
    path: (f) => `/api/v1/projects/${f.id}/transfer`,
    body: () => ({ userId: editor.id }),
    allowed: { owner: 200 },
  },
  {
    name: 'spend',
    method: 'GET',
    path: (f) => `/api/v1/projects/${f.id}/spend`,
    allowed: { owner: 200, editor: 200, viewer: 200 },
  },
  {
    name: 'archive',
    method: 'POST',
    path: (f) => `/api/v1/projects/${f.id}/archive`,
    allowed: { owner: 200 },
  },
];

const WHO: Who[] = ['owner', 'editor', 'viewer', 'non-member', 'suspended'];

describe(`the matrix of roles against every project route on ${TEST_DIALECT}`, () => {
  let suspendedMember: SignedInUser;
  let matrixOwner: SignedInUser;

  beforeAll(async () => {
    matrixOwner = await person('matrix-owner@example.org');
    suspendedMember = await person('suspended-member@example.org');
    await api('POST', `/api/v1/admin/users/${suspendedMember.id}/suspend`, admin, {
      reason: 'For the matrix.',
    });
  });

  /** A fresh project: its owner, an editor, a viewer, a suspended viewer and an open invitation. */
  async function fixture(): Promise<Fixture> {
    const made = await createProject(matrixOwner, [], 'Matrix');
    await addMemberDirectly(server, made.id, editor.id, 'editor');
    await addMemberDirectly(server, made.id, viewer.id, 'viewer');
    await addMemberDirectly(server, made.id, suspendedMember.id, 'viewer');
    const invited = await api('POST', `/api/v1/projects/${made.id}/invitations`, matrixOwner, {
      email: `invited-${made.id}@example.org`,
      role: 'viewer',
    });
    return { id: made.id, invitationId: ((await invited.json()) as { id: string }).id };
  }

  const cases = ROUTES.flatMap((route) =>
    WHO.map((who) => {
      const expected =
        who === 'non-member' ? 404 : who === 'suspended' ? 401 : (route.allowed[who] ?? 403);
      return { route, who, expected };
    }),
  );

  it.each(cases.map((c) => [c.route.name, c.who, c.expected, c] as const))(
    '%s as %s: %i',
    async (_name, who, expected, { route }) => {
      const f = await fixture();
      const as: Record<Who, As> = {
        owner: matrixOwner,
        editor,
        viewer,
        'non-member': outsider,
        suspended: suspendedMember,
      };
      const res = await api(route.method, route.path(f), as[who], route.body?.(f));
      expect(res.status, await res.clone().text()).toBe(expected);
      if (expected >= 400) {
        // A refusal changed nothing: the project is as the fixture made it.
        const seen = await page(f.id, matrixOwner);
        expect(seen.members.map((m) => m.role)).toEqual(['owner', 'editor', 'viewer', 'viewer']);
        expect(seen).toMatchObject({ status: 'active', title: 'Matrix', datasets: [] });
        expect(seen.invitations.map((i) => i.state)).toEqual(['pending']);
      }
    },
  );
});
