import { base32Decode, hotp, totpStep } from '@lantern/core/identity';
import type {
  APIRequestContext,
  APIResponse,
  Browser,
  BrowserContext,
  Page,
} from 'playwright-core';
import { expect } from 'vitest';

/**
 * People for the browser tests, made through the API as a real deployment makes them: the first
 * admin sets a password from the printed link and enrols a second factor; a curator, researcher
 * or reviewer applies, confirms their address, gives training evidence, and is admitted with
 * their roles.
 */
export const CSRF = { 'x-lantern-csrf': '1' };

export const ADMIN = { email: 'admin@lantern.local', password: 'quiet orchard under seven moons' };

export interface Person {
  email: string;
  password: string;
  name: string;
}

/** A person who applies for admission, with the research purpose they give. */
export type Applicant = Person & { researchPurpose: string };

/** The cast of the projects and instances tests (made-up people with historical names). */
export const PEOPLE = {
  owner: {
    email: 'mary@hospital.example',
    password: 'wards are quiet before dawn',
    name: 'Mary Seacole',
    researchPurpose: 'Sudden cardiac arrest and the resting ECG.',
  },
  colleague: {
    email: 'grace@navy.example',
    password: 'compilers never sleep at sea',
    name: 'Grace Hopper',
    researchPurpose: 'Signal processing of ECG waveforms.',
  },
  reviewer: {
    email: 'rita@review.example',
    password: 'every request deserves a reason',
    name: 'Rita Levi-Montalcini',
    researchPurpose: 'Reviewing access to restricted datasets.',
  },
  curator: {
    email: 'curator@hospital.example',
    password: 'curators document every column',
    name: 'Rosalind Franklin',
    researchPurpose: 'Curating ECG datasets for the catalog.',
  },
} satisfies Record<string, Applicant>;

/** An API answer that must be a success; its body is the failure message otherwise. */
export async function expectOk(answer: Promise<APIResponse>): Promise<APIResponse> {
  const done = await answer;
  expect(done.status(), await done.text()).toBeLessThan(300);
  return done;
}

/** Enrols a second factor for the person signed in on `request`; their session then acts with it. */
async function enrolSecondFactor(request: APIRequestContext, baseUrl: string): Promise<void> {
  const enrolment = (await (
    await expectOk(
      request.post(`${baseUrl}/api/v1/auth/second-factor/enrolment`, { headers: CSRF }),
    )
  ).json()) as { secret: string };
  const seed = base32Decode(enrolment.secret) ?? Buffer.alloc(0);
  await expectOk(
    request.post(`${baseUrl}/api/v1/auth/second-factor/enrolment/confirm`, {
      headers: CSRF,
      data: { code: hotp(seed, totpStep(Date.now())) },
    }),
  );
}

/**
 * The first admin sets a password from the link `lantern start` printed (`banner`) and enrols a
 * second factor; returns the admin's signed-in browser context (its API requests and its pages
 * share the session).
 */
export async function setUpAdmin(
  browser: Browser,
  baseUrl: string,
  banner: string,
): Promise<BrowserContext> {
  const token = /set-password#token=(lne_[a-z2-7]{52})/.exec(banner)?.[1] ?? '';
  const adminContext = await browser.newContext();
  const admin = adminContext.request;
  await expectOk(
    admin.post(`${baseUrl}/api/v1/auth/set-password`, {
      headers: CSRF,
      data: { token, password: ADMIN.password },
    }),
  );
  await expectOk(admin.post(`${baseUrl}/api/v1/auth/sign-in`, { headers: CSRF, data: ADMIN }));
  await enrolSecondFactor(admin, baseUrl);
  return adminContext;
}

/** What the admin reads in the outbox (there is no SMTP server here), newest first. */
export async function readOutbox(
  admin: BrowserContext,
  baseUrl: string,
): Promise<{ to: string; text: string }[]> {
  const outbox = (await (
    await expectOk(admin.request.get(`${baseUrl}/api/v1/admin/outbox`))
  ).json()) as {
    messages: { to: string; text: string }[];
  };
  return outbox.messages;
}

/**
 * `person` applies, confirms their address from the emailed link, gives training evidence, and
 * the admin admits them with `roles`; reviewers and admins enrol a second factor, and with
 * `acceptTerms` the current terms are accepted. Returns the person's signed-in browser context.
 */
export async function admitPerson(options: {
  browser: Browser;
  baseUrl: string;
  /** The admin's signed-in context (from setUpAdmin). */
  admin: BrowserContext;
  person: Applicant;
  roles: string[];
  acceptTerms?: boolean;
}): Promise<BrowserContext> {
  const { browser, baseUrl, admin, person, roles } = options;
  const context = await browser.newContext();
  const own = context.request;
  await expectOk(
    own.post(`${baseUrl}/api/v1/auth/register`, {
      headers: CSRF,
      data: {
        name: person.name,
        email: person.email,
        password: person.password,
        institution: 'Example Health System',
        institutionRole: roles.includes('curator') ? 'Data curator' : 'Researcher',
        researchPurpose: person.researchPurpose,
      },
    }),
  );
  const verify = (await readOutbox(admin, baseUrl))
    .filter((m) => m.to === person.email)
    .map((m) => /verify-email#token=(lne_[a-z2-7]{52})/.exec(m.text)?.[1])
    .find((t) => t !== undefined);
  await expectOk(
    own.post(`${baseUrl}/api/v1/auth/verify-email`, { headers: CSRF, data: { token: verify } }),
  );
  await expectOk(
    own.post(`${baseUrl}/api/v1/auth/sign-in`, {
      headers: CSRF,
      data: { email: person.email, password: person.password },
    }),
  );
  await expectOk(
    own.put(`${baseUrl}/api/v1/admission/me/evidence`, {
      headers: CSRF,
      data: { certificateId: 'CITI-1', expiresOn: `${new Date().getFullYear() + 2}-01-31` },
    }),
  );
  const queue = (await (
    await expectOk(admin.request.get(`${baseUrl}/api/v1/admission/queue`))
  ).json()) as { applicants: { id: string; email: string }[] };
  const id = queue.applicants.find((a) => a.email === person.email)?.id ?? '';
  await expectOk(
    admin.request.post(`${baseUrl}/api/v1/admission/decisions`, {
      headers: CSRF,
      data: { userIds: [id], decision: 'admit', reason: 'Known to the platform.' },
    }),
  );
  await expectOk(
    admin.request.put(`${baseUrl}/api/v1/admin/users/${id}/roles`, {
      headers: CSRF,
      data: { roles },
    }),
  );
  if (roles.includes('reviewer') || roles.includes('admin')) {
    await enrolSecondFactor(own, baseUrl);
  }
  if (options.acceptTerms === true) {
    const terms = (await (await expectOk(own.get(`${baseUrl}/api/v1/terms`))).json()) as {
      version: number;
    };
    await expectOk(
      own.post(`${baseUrl}/api/v1/terms/accept`, {
        headers: CSRF,
        data: { version: terms.version },
      }),
    );
  }
  return context;
}

/**
 * The first admin (set up, with a second factor) admits `curator`; returns the admin's signed-in
 * browser context (its API requests and its pages share the session).
 */
export async function admitCurator(options: {
  browser: Browser;
  baseUrl: string;
  /** What `lantern start` printed: the first admin's set-password link. */
  banner: string;
  curator: Applicant;
}): Promise<BrowserContext> {
  const { browser, baseUrl, banner, curator } = options;
  const admin = await setUpAdmin(browser, baseUrl, banner);
  const context = await admitPerson({
    browser,
    baseUrl,
    admin,
    person: curator,
    roles: ['curator'],
  });
  await context.close();
  return admin;
}

/** Signs `person` in through the sign-in page, then goes to `next`. */
export async function signIn(
  page: Page,
  baseUrl: string,
  person: Person,
  next: string,
): Promise<void> {
  await page.goto(`${baseUrl}/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe(person.name);
}
