import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyDataset } from '../testing/datasets.js';
import { request, type As } from '../testing/http.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, type SignedInUser } from '../testing/users.js';

// Partner delegates (issue 7): a restricted dataset's access request goes to a reviewer "or the
// partner's delegate". An admin makes a person with the partner role the delegate of partners by
// name; the delegate's queue holds only the requests to those partners' datasets, and a request to
// another partner's dataset does not exist for them.

let server: TestServer;
const PASSWORD = 'seven quiet rivers under the hill';
const PURPOSE = 'Whether resting ECG morphology predicts arrest within a year.';
let admin: SignedInUser;
let delegate: SignedInUser;
let researcher: SignedInUser;
let theirs: string;
let others: string;

const api = (method: string, path: string, as: As = {}, body?: unknown) =>
  request(server, method, path, as, body);

interface Queue {
  requests: { id: string; slug: string; status: string; project: { purpose: string } }[];
}

async function queue(as: As): Promise<Queue['requests']> {
  const res = await api('GET', '/api/v1/access-requests', as);
  expect(res.status).toBe(200);
  return ((await res.json()) as Queue).requests;
}

beforeAll(async () => {
  server = await startTestServer();
  const person = (email: string, roles: string[]) =>
    createSignedInUser(server, { email, roles, password: PASSWORD });
  const curator = await person('curator@example.org', ['curator']);
  admin = await person('adam@example.org', ['admin']);
  delegate = await person('paula@example.org', ['partner']);
  researcher = await person('olive@example.org', ['researcher']);
  await publishTinyDataset(server, curator, 'gated-north', 'approval', 2, 'North Health');
  await publishTinyDataset(server, curator, 'gated-south', 'approval', 2, 'South Clinic');
  const made = await api('POST', '/api/v1/projects', researcher, {
    title: 'Arrest from resting ECGs',
    purpose: PURPOSE,
    datasets: [
      { slug: 'gated-north', version: '1.0' },
      { slug: 'gated-south', version: '1.0' },
    ],
  });
  expect(made.status).toBe(201);
  const all = await queue(admin);
  theirs = all.find((r) => r.slug === 'gated-north')?.id ?? '';
  others = all.find((r) => r.slug === 'gated-south')?.id ?? '';
  expect(theirs).not.toBe('');
  expect(others).not.toBe('');
});

afterAll(async () => {
  await server.close();
});

describe(`partner delegates on ${TEST_DIALECT}`, () => {
  it('shows a partner no request until an admin makes them a delegate, then only their partners', async () => {
    expect(await queue(delegate)).toEqual([]);
    // Researchers hold no access.review at all.
    expect((await api('GET', '/api/v1/access-requests', researcher)).status).toBe(403);

    const refused = await api(
      'PUT',
      `/api/v1/admin/users/${delegate.id}/delegate-partners`,
      delegate,
      {
        partners: ['North Health'],
      },
    );
    expect(refused.status).toBe(403);
    const set = await api('PUT', `/api/v1/admin/users/${delegate.id}/delegate-partners`, admin, {
      partners: [' North Health ', 'North Health'],
    });
    expect(set.status).toBe(200);
    const granted = await server.auditEventsFor(set.headers.get('x-request-id') ?? '');
    expect(granted.map((e) => e.action)).toContain('user.set_delegate_partners');
    expect(await set.json()).toMatchObject({
      roles: ['partner'],
      delegatePartners: ['North Health'],
    });

    const mine = await queue(delegate);
    expect(mine.map((r) => r.slug)).toEqual(['gated-north']);
    expect(mine[0]?.project.purpose).toBe(PURPOSE);
    // Reviewers and admins still see every request.
    expect((await queue(admin)).map((r) => r.slug).sort()).toEqual(['gated-north', 'gated-south']);
  });

  it("lets the delegate answer their partner's request, and finds no other partner's request", async () => {
    const other = await api('POST', `/api/v1/access-requests/${others}/decision`, delegate, {
      decision: 'approve',
      reason: 'Looks fine to me.',
    });
    expect(other.status).toBe(404);

    const answered = await api('POST', `/api/v1/access-requests/${theirs}/decision`, delegate, {
      decision: 'approve',
      reason: 'The purpose matches what North Health agreed to share for.',
    });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ slug: 'gated-north', status: 'attached' });

    // The other partner's request is still waiting, untouched.
    const waiting = await queue(admin);
    expect(waiting.map((r) => r.slug)).toEqual(['gated-south']);

    // The requester is told who answered; the audit event says on whose behalf.
    const mail = (await server.ctx.services.email.list({ limit: 100 })).find(
      (m) => m.kind === 'project.access_decision',
    );
    expect(mail?.body_text).toContain("The data partner's delegate approved the request");
    const events = await server.auditEventsFor(answered.headers.get('x-request-id') ?? '');
    expect(events.find((e) => e.action === 'access.approve')?.details).toMatchObject({
      onBehalfOf: ['North Health'],
    });
  });
});
