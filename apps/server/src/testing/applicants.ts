import type { Insertable } from 'kysely';
import type { UsersTable } from '../db/schema.js';
import { usersRepository } from '../repositories/identity/users.repository.js';
import type { TestServer } from './test-server.js';

export const APPLICANT_PASSWORD = 'granite steps toward the northern sea';

/**
 * An applicant waiting for admission, made the way a person does it: registered through the API,
 * address confirmed through the emailed link (read from the outbox), signed in.
 */
export async function applyThroughApi(
  server: TestServer,
  email: string,
  details: { name?: string; institution?: string } = {},
): Promise<{ id: string; cookie: string }> {
  const post = (path: string, body: unknown, cookie = '') =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-lantern-csrf': '1' },
      body: JSON.stringify(body),
    });
  await post('/api/v1/auth/register', {
    name: details.name ?? email.split('@')[0],
    email,
    password: APPLICANT_PASSWORD,
    institution: details.institution ?? 'Example University',
    institutionRole: 'PhD student',
    researchPurpose: 'Ground-truth outcomes of knee osteoarthritis from radiographs.',
  });
  const mail = (await server.ctx.services.email.list({ limit: 500 })).find(
    (m) => m.to_address === email && m.kind === 'email.verify',
  );
  const token = /#token=(lne_[a-z2-7]{52})/u.exec(mail?.body_text ?? '')?.[1];
  if (token === undefined || (await post('/api/v1/auth/verify-email', { token })).status !== 200) {
    throw new Error(`could not confirm ${email}`);
  }
  const signIn = await post('/api/v1/auth/sign-in', { email, password: APPLICANT_PASSWORD });
  const cookie = /^(lantern_session=[^;]+)/u.exec(signIn.headers.get('set-cookie') ?? '')?.[1];
  if (cookie === undefined) {
    throw new Error(`sign-in of ${email} failed with ${signIn.status}`);
  }
  const session = (await (
    await fetch(`${server.url}/api/v1/auth/session`, { headers: { cookie } })
  ).json()) as { user: { id: string } };
  return { id: session.user.id, cookie };
}

/**
 * Applicants and decided users written straight to the database, with chosen times, for tests of
 * the queue's order and pages (hundreds of registrations through the API would test nothing more).
 */
export async function insertApplicants(
  server: TestServer,
  users: Insertable<UsersTable>[],
): Promise<void> {
  for (const user of users) {
    await usersRepository.insert(server.ctx.database.db, user);
  }
}
