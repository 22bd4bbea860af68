import argon2 from 'argon2';
import { usersRepository } from '../repositories/identity/users.repository.js';
import type { TestServer } from './test-server.js';

/**
 * An admitted user with a password, made directly in the database, and their session cookie from
 * a real sign-in. (Registration and admission through the API join later in the identity issue.)
 */
export async function createSignedInUser(
  server: TestServer,
  user: { email: string; roles: string[]; password: string },
): Promise<{ id: string; cookie: string }> {
  const id = `u_${user.email.replace(/[^a-z0-9]/giu, '_')}`;
  await usersRepository.insert(server.ctx.database.db, {
    id,
    email: user.email,
    name: user.email,
    status: 'admitted',
    roles: user.roles,
    password_hash: await argon2.hash(user.password, { type: argon2.argon2id }),
  });
  const res = await fetch(`${server.url}/api/v1/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-lantern-csrf': '1' },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  const cookie = /^(lantern_session=[^;]+)/u.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (res.status !== 200 || cookie === undefined) {
    throw new Error(`sign-in of ${user.email} failed with ${res.status}`);
  }
  return { id, cookie };
}
