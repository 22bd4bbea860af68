import { SECOND_FACTOR_ROLES } from '@lantern/core';
import { base32Decode, hotp, totpStep } from '@lantern/core/identity';
import argon2 from 'argon2';
import { usersRepository } from '../repositories/identity/users.repository.js';
import { request } from './http.js';
import type { TestServer } from './test-server.js';

/** A signed-in test user: their id, session cookie and (when enrolled) TOTP secret in base32. */
export interface SignedInUser {
  id: string;
  cookie: string;
  totpSecret: string | null;
}

/**
 * An admitted (or pending) user with a password, made directly in the database, and their session cookie from
 * a real sign-in. Reviewers and admins enrol a second factor through the API first (their roles
 * need it), so the cookie acts with every role given. Unless `acceptTerms` is false, they accept
 * the current terms, like anyone who has started working.
 */
export async function createSignedInUser(
  server: TestServer,
  user: {
    email: string;
    roles: string[];
    password: string;
    acceptTerms?: boolean;
    status?: 'admitted' | 'pending';
  },
): Promise<SignedInUser> {
  const id = `u_${user.email.replace(/[^a-z0-9]/giu, '_')}`;
  await usersRepository.insert(server.ctx.database.db, {
    id,
    email: user.email,
    name: user.email,
    status: user.status ?? 'admitted',
    roles: user.roles,
    password_hash: await argon2.hash(user.password, { type: argon2.argon2id }),
  });
  const res = await call(server, 'POST', '/api/v1/auth/sign-in', undefined, {
    email: user.email,
    password: user.password,
  });
  const cookie = /^(lantern_session=[^;]+)/u.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (res.status !== 200 || cookie === undefined) {
    throw new Error(`sign-in of ${user.email} failed with ${res.status}`);
  }
  let totpSecret: string | null = null;
  if (
    user.status !== 'pending' &&
    user.roles.some((role) => (SECOND_FACTOR_ROLES as readonly string[]).includes(role))
  ) {
    totpSecret = await enrolSecondFactor(server, cookie);
  }
  if (user.acceptTerms !== false) {
    const terms = (await (await call(server, 'GET', '/api/v1/terms', cookie)).json()) as {
      version: number;
    };
    const accepted = await call(server, 'POST', '/api/v1/terms/accept', cookie, {
      version: terms.version,
    });
    if (accepted.status !== 200) {
      throw new Error(`${user.email} could not accept the terms: ${accepted.status}`);
    }
  }
  return { id, cookie, totpSecret };
}

/** Enrols TOTP for the session `cookie` through the API; returns the secret (base32). */
export async function enrolSecondFactor(server: TestServer, cookie: string): Promise<string> {
  const begun = await call(server, 'POST', '/api/v1/auth/second-factor/enrolment', cookie);
  const { secret } = (await begun.json()) as { secret: string };
  const confirmed = await call(
    server,
    'POST',
    '/api/v1/auth/second-factor/enrolment/confirm',
    cookie,
    {
      code: totpCode(secret),
    },
  );
  if (confirmed.status !== 200) {
    throw new Error(`second-factor enrolment failed with ${confirmed.status}`);
  }
  return secret;
}

/**
 * The TOTP code of `secret` (base32) for now, or `steps` time steps ahead: servers accept one step
 * either side, and each step once, so a second sign-in in the same 30 s uses `steps = 1`.
 */
export function totpCode(secret: string, steps = 0): string {
  const seed = base32Decode(secret);
  if (seed === null) {
    throw new Error('not a base32 secret');
  }
  return hotp(seed, totpStep(Date.now()) + steps);
}

const call = (
  server: TestServer,
  method: string,
  path: string,
  cookie: string | undefined,
  body?: unknown,
) => request(server, method, path, { cookie }, body);
