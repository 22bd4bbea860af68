import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

let server: TestServer;
let reviewer = '';
const PASSWORD = 'granite steps toward the northern sea';

const call = (path: string, cookie: string, method = 'GET', body?: unknown) =>
  fetch(`${server.url}${path}`, {
    method,
    headers: {
      cookie,
      'x-lantern-csrf': '1',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** Registers through the API, confirms the address through the emailed link, signs in. */
async function apply(email: string): Promise<{ id: string; cookie: string }> {
  await call('/api/v1/auth/register', '', 'POST', {
    name: email.split('@')[0],
    email,
    password: PASSWORD,
    institution: 'Example University',
    institutionRole: 'PhD student',
    researchPurpose: 'Ground-truth outcomes of knee osteoarthritis from radiographs.',
  });
  const mail = (await server.ctx.services.email.list({ limit: 200 })).find(
    (m) => m.to_address === email,
  );
  const token = /#token=(lne_[a-z2-7]{52})/.exec(mail?.body_text ?? '')?.[1] ?? '';
  expect((await call('/api/v1/auth/verify-email', '', 'POST', { token })).status).toBe(200);
  const signIn = await call('/api/v1/auth/sign-in', '', 'POST', { email, password: PASSWORD });
  const cookie = /^(lantern_session=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1] ?? '';
  const session = (await (await call('/api/v1/auth/session', cookie)).json()) as {
    user: { id: string };
  };
  return { id: session.user.id, cookie };
}

const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  server = await startTestServer();
  reviewer = (
    await createSignedInUser(server, {
      email: 'rev@example.org',
      roles: ['reviewer'],
      password: PASSWORD,
    })
  ).cookie;
});

afterAll(async () => {
  await server.close();
});

describe(`admission on ${TEST_DIALECT}`, () => {
  let ada = { id: '', cookie: '' };
  let bob = { id: '', cookie: '' };

  it('puts a confirmed applicant in the queue and shows them where they stand', async () => {
    ada = await apply('ada@uni.example');
    bob = await apply('bob@uni.example');
    const standing = await (await call('/api/v1/admission/me', bob.cookie)).json();
    expect(standing).toMatchObject({
      status: 'pending',
      ahead: 1,
      evidence: null,
      medianWaitDays: null,
      decision: null,
    });
    const queue = (await (await call('/api/v1/admission/queue', reviewer)).json()) as {
      applicants: { email: string }[];
    };
    expect(queue.applicants.map((a) => a.email)).toEqual(['ada@uni.example', 'bob@uni.example']);
  });

  it('is for reviewers only', async () => {
    expect((await call('/api/v1/admission/queue', ada.cookie)).status).toBe(403);
    expect(
      (
        await call('/api/v1/admission/decisions', ada.cookie, 'POST', {
          userIds: [ada.id],
          decision: 'admit',
        })
      ).status,
    ).toBe(403);
  });

  it('takes training evidence that is still valid', async () => {
    const expired = await call('/api/v1/admission/me/evidence', ada.cookie, 'PUT', {
      certificateId: 'CITI-123',
      expiresOn: '2020-01-01',
    });
    expect(expired.status).toBe(400);
    const bad = await call('/api/v1/admission/me/evidence', ada.cookie, 'PUT', {
      certificateId: 'CITI-123',
      expiresOn: 'next year',
    });
    expect(((await bad.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe(
      'body.expiresOn',
    );
    const ok = await call('/api/v1/admission/me/evidence', ada.cookie, 'PUT', {
      certificateId: 'CITI-123',
      expiresOn: inAYear,
    });
    expect(ok.status).toBe(204);
  });

  it('admits all or none: one applicant without evidence stops the whole batch', async () => {
    const res = await call('/api/v1/admission/decisions', reviewer, 'POST', {
      userIds: [ada.id, bob.id],
      decision: 'admit',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors).toEqual([
      { path: 'body.userIds.1', message: 'bob@uni.example has no valid training evidence yet' },
    ]);
    expect(
      ((await (await call('/api/v1/admission/me', ada.cookie)).json()) as { status: string })
        .status,
    ).toBe('pending');
  });

  it('admits with evidence, rejects with a reason, and tells each applicant by email', async () => {
    expect(
      (
        await call('/api/v1/admission/decisions', reviewer, 'POST', {
          userIds: [ada.id],
          decision: 'admit',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call('/api/v1/admission/decisions', reviewer, 'POST', {
          userIds: [bob.id],
          decision: 'reject',
        })
      ).status,
    ).toBe(400);
    const rejected = await call('/api/v1/admission/decisions', reviewer, 'POST', {
      userIds: [bob.id],
      decision: 'reject',
      reason: 'The stated purpose is commercial.',
    });
    expect(await rejected.json()).toEqual({ decided: 1 });

    const mails = await server.ctx.services.email.list({ limit: 200 });
    expect(
      mails.find((m) => m.to_address === 'ada@uni.example' && m.kind === 'admission.admit'),
    ).toBeDefined();
    expect(
      mails.find((m) => m.to_address === 'bob@uni.example' && m.kind === 'admission.reject')
        ?.body_text,
    ).toContain('The stated purpose is commercial.');

    // Admitted at once: the same session now acts as a researcher.
    const session = await (await call('/api/v1/auth/session', ada.cookie)).json();
    expect(session).toMatchObject({ user: { status: 'admitted', roles: ['researcher'] } });
    const standing = (await (await call('/api/v1/admission/me', ada.cookie)).json()) as {
      decision: unknown;
      medianWaitDays: number;
    };
    expect(standing.decision).not.toBeNull();
    expect(standing.medianWaitDays).toBeGreaterThanOrEqual(0);
    // A rejected applicant is signed out and cannot sign in again.
    expect(await (await call('/api/v1/auth/session', bob.cookie)).json()).toEqual({ user: null });
    expect(
      (
        await call('/api/v1/auth/sign-in', '', 'POST', {
          email: 'bob@uni.example',
          password: PASSWORD,
        })
      ).status,
    ).toBe(403);
  });

  it('will not decide twice', async () => {
    const again = await call('/api/v1/admission/decisions', reviewer, 'POST', {
      userIds: [ada.id],
      decision: 'reject',
      reason: 'changed my mind',
    });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { detail: string }).detail).toMatch(
      /has no pending application/,
    );
  });
});
