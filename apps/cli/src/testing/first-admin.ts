import { base32Decode, hotp, totpStep } from '@lantern/core/identity';
import type { Permission } from '@lantern/core';
import { createLanternClient } from '@lantern/sdk';
import type { RunningLantern } from './run-cli.js';

/** The first admin of a fresh `lantern start`, signed in with a second factor, as the web app does. */
export interface FirstAdmin {
  cookie: string;
  /** Makes an API token of the admin over HTTP, as the web Account page does. */
  makeToken(name: string, scope: Permission[]): Promise<{ secret: string; id: string }>;
}

/**
 * Sets the first admin's password from the link `lantern start` printed, signs in and enrols a TOTP
 * second factor (admins act as admins only after it).
 */
export async function signInFirstAdmin(
  lantern: RunningLantern,
  password: string,
): Promise<FirstAdmin> {
  const link = /set-password#token=(lne_[a-z2-7]{52})/.exec(lantern.output())?.[1];
  if (link === undefined) {
    throw new Error(`no set-password link in:\n${lantern.output()}`);
  }
  await createLanternClient({ baseUrl: lantern.url }).setPasswordWithLink(link, password);
  const signIn = await fetch(`${lantern.url}/api/v1/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-lantern-csrf': '1' },
    body: JSON.stringify({ email: 'admin@lantern.local', password }),
  });
  const cookie = /^(lantern_session=[^;]+)/u.exec(signIn.headers.get('set-cookie') ?? '')?.[1];
  if (signIn.status !== 200 || cookie === undefined) {
    throw new Error(`the first admin could not sign in: ${signIn.status}`);
  }
  const begun = await fetch(`${lantern.url}/api/v1/auth/second-factor/enrolment`, {
    method: 'POST',
    headers: { cookie, 'x-lantern-csrf': '1' },
  });
  const seed = base32Decode(((await begun.json()) as { secret: string }).secret);
  const confirmed = await fetch(`${lantern.url}/api/v1/auth/second-factor/enrolment/confirm`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', 'x-lantern-csrf': '1' },
    body: JSON.stringify({ code: seed === null ? '' : hotp(seed, totpStep(Date.now())) }),
  });
  if (confirmed.status !== 200) {
    throw new Error(`the first admin could not enrol a second factor: ${confirmed.status}`);
  }
  return {
    cookie,
    async makeToken(name, scope) {
      const res = await fetch(`${lantern.url}/api/v1/auth/tokens`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', 'x-lantern-csrf': '1' },
        body: JSON.stringify({ name, scope, expiresInDays: 30 }),
      });
      if (res.status !== 201) {
        throw new Error(`no token made: ${res.status} ${await res.text()}`);
      }
      const body = (await res.json()) as { token: string; info: { id: string } };
      return { secret: body.token, id: body.info.id };
    },
  };
}
