import { ApiError, createLanternClient, type LanternClient } from '@lantern/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser, totpCode, type SignedInUser } from '../testing/users.js';

// The SDK methods the web app uses for the terms and two-factor sign-in, against the real server:
// the paths, bodies and answers the generated types promise are the ones the server keeps.
let server: TestServer;
const PASSWORD = 'seven quiet rivers under the hill';
let admin: SignedInUser;
let researcher: SignedInUser;

/** An SDK client speaking as the browser session `cookie`. */
function clientOf(cookie: string): LanternClient {
  return createLanternClient({
    baseUrl: server.url,
    fetch: (input, init) => {
      const request = new Request(input, init);
      request.headers.set('cookie', cookie);
      return globalThis.fetch(request);
    },
  });
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await createSignedInUser(server, {
    email: 'admin@example.org',
    roles: ['admin'],
    password: PASSWORD,
  });
  researcher = await createSignedInUser(server, {
    email: 'ada@example.org',
    roles: ['researcher'],
    password: PASSWORD,
    acceptTerms: false,
  });
});

afterAll(async () => {
  await server.close();
});

describe(`SDK: terms and two-factor sign-in on ${TEST_DIALECT}`, () => {
  it('signs in with a code only when one is given, and describes the session', async () => {
    const refused = await server.client
      .signIn('admin@example.org', PASSWORD)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 401, code: 'second_factor_required' });

    const signedIn = await server.client.signIn(
      'admin@example.org',
      PASSWORD,
      totpCode(admin.totpSecret ?? '', 1),
    );
    expect(signedIn.user.roles).toEqual(['admin']);

    const session = await clientOf(admin.cookie).getSession();
    expect(session).toMatchObject({
      actingRoles: ['admin'],
      secondFactor: { enabled: true, required: true, recoveryCodesLeft: 10, thisSession: true },
      termsAccepted: true,
    });
    expect(await server.client.getSession()).toBeNull();
  });

  it('reads, accepts and publishes the terms', async () => {
    const ada = clientOf(researcher.cookie);
    const current = await server.client.getCurrentTerms();
    expect(current.version).toBe(1);
    expect((await server.client.getTermsVersion(1)).body).toBe(current.body);
    expect(await ada.getTermsStanding()).toMatchObject({ accepted: null, upToDate: false });
    expect(await ada.acceptTerms(1)).toMatchObject({ accepted: { version: 1 }, upToDate: true });
    expect((await ada.getSession())?.termsAccepted).toBe(true);

    await expect(ada.listTermsVersions()).rejects.toMatchObject({ status: 403 });
    const owner = clientOf(admin.cookie);
    const published = await owner.publishTerms({
      title: 'Data use agreement',
      body: `${'These terms govern every use of the data. '.repeat(8)}\n\n## New\n\nMore.`,
      changes: 'A new section.',
    });
    expect(published.version).toBe(2);
    expect(
      (await owner.listTermsVersions()).map((v) => [v.version, v.acceptances, v.changes]),
    ).toEqual([
      [2, 0, 'A new section.'],
      [1, 2, 'First version.'],
    ]);
    expect((await ada.getSession())?.termsAccepted).toBe(false);
    await expect(ada.acceptTerms(1)).rejects.toBeInstanceOf(ApiError);
  });

  it('sets up two-factor sign-in, makes new recovery codes and turns it off', async () => {
    const ada = clientOf(researcher.cookie);
    expect(await ada.getSecondFactor()).toEqual({
      enabled: false,
      required: false,
      recoveryCodesLeft: 0,
    });
    const { secret, uri } = await ada.beginSecondFactorEnrolment();
    expect(uri).toMatch(/^otpauth:\/\/totp\/Lantern:ada%40example\.org\?secret=/);
    const first = await ada.confirmSecondFactorEnrolment(totpCode(secret));
    expect(first).toHaveLength(10);
    expect((await ada.getSession())?.secondFactor).toMatchObject({
      enabled: true,
      thisSession: true,
    });

    await expect(ada.regenerateRecoveryCodes(first[0] ?? '')).rejects.toMatchObject({
      status: 400,
    });
    const second = await ada.regenerateRecoveryCodes(totpCode(secret, 1));
    expect(second).toHaveLength(10);
    expect(second.some((code) => first.includes(code))).toBe(false);

    // The old recovery codes stopped working; a new one turns it off.
    await expect(ada.disableSecondFactor(first[1] ?? '')).rejects.toMatchObject({ status: 400 });
    await ada.disableSecondFactor(second[0] ?? '');
    expect(await ada.getSecondFactor()).toMatchObject({ enabled: false });

    await expect(
      clientOf(admin.cookie).disableSecondFactor(totpCode(admin.totpSecret ?? '', -1)),
    ).rejects.toMatchObject({ status: 403 });
  });
});
