import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base32Decode, hotp, totpStep } from '@lantern/core/identity';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN } from './people.js';
import { launchChromium, SCREENSHOTS, startLantern } from './support.js';

// Browser tests drive the built product in Debian's Chromium, as a user would: `lantern start`,
// then pages. Screenshots are kept under test-results/screenshots for people to look at.

let dataDir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;
let banner: string;
let browser: Browser;

/**
 * An authenticator app, made from the secret a person reads off the page while enrolling. Each
 * code is for a time step not used yet: the server takes each step once and only one step either
 * side of now (RFC 6238), so after two quick codes this waits for the clock to reach the next step.
 */
class Authenticator {
  private lastStep = 0;
  private constructor(private readonly seed: Buffer) {}

  static fromPage(text: string | null): Authenticator {
    const seed = base32Decode((text ?? '').replace(/\s/g, ''));
    expect(seed, text ?? '').not.toBeNull();
    return new Authenticator(seed ?? Buffer.alloc(0));
  }

  async code(): Promise<string> {
    await expect
      .poll(() => totpStep(Date.now()) + 1 > this.lastStep, { timeout: 40_000, interval: 250 })
      .toBe(true);
    this.lastStep = Math.max(totpStep(Date.now()), this.lastStep + 1);
    return hotp(this.seed, this.lastStep);
  }

  /** A six-digit code the app does not show around now. */
  wrongCode(): string {
    const near = [-1, 0, 1].map((d) => hotp(this.seed, totpStep(Date.now()) + d));
    return ['000000', '111111', '222222'].find((code) => !near.includes(code)) ?? '333333';
  }
}

let adminApp: Authenticator | null = null;
let adminRecoveryCodes: string[] = [];
let adminContext: BrowserContext | null = null;

/** The first admin's app (after the test where the admin enrols). */
function adminAuthenticator(): Authenticator {
  if (adminApp === null) {
    throw new Error('the admin has not enrolled yet');
  }
  return adminApp;
}

/**
 * A browser context of the admin signed in with a second factor (a recovery code, so no waiting
 * for the clock), shared by the tests that need an admin acting as one.
 */
async function signedInAdmin(): Promise<BrowserContext> {
  if (adminContext === null) {
    const context = await browser.newContext();
    const code = adminRecoveryCodes.pop();
    const answer = await context.request.post(`${baseUrl}/api/v1/auth/sign-in`, {
      headers: { 'x-lantern-csrf': '1' },
      data: { ...ADMIN, code },
    });
    expect(answer.status(), await answer.text()).toBe(200);
    adminContext = context;
  }
  return adminContext;
}

/** What the admin reads in the outbox (there is no SMTP server here). */
async function readOutbox(): Promise<{ to: string; text: string }[]> {
  const admin = await signedInAdmin();
  const answer = await admin.request.get(`${baseUrl}/api/v1/admin/outbox`);
  expect(answer.status()).toBe(200);
  return ((await answer.json()) as { messages: { to: string; text: string }[] }).messages;
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-'));
  const server = await startLantern(dataDir);
  baseUrl = server.url;
  stopServer = server.stop;
  banner = server.output();
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await adminContext?.close();
  await browser.close();
  await stopServer();
  await rm(dataDir, { recursive: true, force: true });
});

describe('web app', () => {
  it('shows the status page with every component and keeps a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1024, height: 640 } });
    await page.goto(`${baseUrl}/status`);
    await expect
      .poll(() => page.getByTestId('overall-status').textContent())
      .toMatch(/^(ok|degraded)$/);
    for (const name of ['database', 'objectStore', 'compute', 'audit']) {
      await expect.poll(() => page.getByTestId(`check-${name}`).count()).toBe(1);
    }
    expect(await page.getByTestId('check-database').textContent()).toMatch(
      /DatabaseokPGlite, embedded/,
    );
    expect(await page.title()).toBe('Lantern');
    await page.screenshot({ path: join(SCREENSHOTS, 'status.png'), fullPage: true });
    await page.close();
  });

  it('navigates with the keyboard and keeps client-side routes on reload', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toMatch(/Secure research/);
    await page.getByRole('link', { name: 'Status' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.url()).toBe(`${baseUrl}/status`);
    expect(await page.getByRole('link', { name: 'Status' }).getAttribute('aria-current')).toBe(
      'page',
    );
    await page.reload();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Status');
    await page.close();
  });

  it('lets the first admin set a password from the printed link, sign in and sign out', async () => {
    const link = /(http:\/\/\S+\/set-password#token=lne_[a-z2-7]{52})/.exec(banner)?.[1];
    expect(link, banner).toBeDefined();
    const page = await browser.newPage();
    await page.goto(link ?? '');
    await page.getByLabel('New password').fill('password123');
    await page.getByLabel('Again').fill('password123');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/at least 15 characters/);
    await page.screenshot({ path: join(SCREENSHOTS, 'set-password-refused.png') });

    const strong = 'quiet orchard under seven moons';
    await page.getByLabel('New password').fill(strong);
    await page.getByLabel('Again').fill(strong);
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/password of admin@lantern\.local is set/);
    expect(page.url()).toBe(`${baseUrl}/set-password`);

    await page.getByRole('button', { name: 'Sign in' }).click();
    await signIn(page, ADMIN.email, 'a wrong password entirely');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('wrong email or password');
    await page.getByLabel('Password').fill(strong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Administrator');
    expect(page.url()).toBe(`${baseUrl}/`);

    // Admins act as admins only from a session with a second factor: until then the header says
    // so, and the admin pages are not offered.
    await expect
      .poll(() => page.getByTestId('notice-second-factor').textContent())
      .toBe('Your roles need two-factor sign-in: set it up');
    expect(await page.getByRole('link', { name: 'Admission queue' }).count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'signed-in.png') });
    // Another browser signs in too, before the second factor exists (think: a work laptop).
    const laptop = await browser.newPage();
    await laptop.goto(`${baseUrl}/sign-in`);
    await signIn(laptop, ADMIN.email, strong);
    await expect.poll(() => laptop.getByTestId('signed-in-as').textContent()).toBe('Administrator');

    await page.getByRole('link', { name: 'set it up' }).click();
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    adminApp = Authenticator.fromPage(await page.getByTestId('totp-secret').textContent());
    expect(
      await page
        .getByRole('img', { name: 'QR code to add Lantern to your authenticator app' })
        .count(),
    ).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'two-factor-setup.png'), fullPage: true });
    await page
      .getByLabel('Then enter the 6-digit code it shows')
      .fill(await adminAuthenticator().code());
    await page.getByRole('button', { name: 'Turn on' }).click();
    const shown = page.getByTestId('recovery-codes');
    await expect.poll(() => shown.locator('li').count()).toBe(10);
    expect(await shown.textContent()).toMatch(/Store these recovery codes now/);
    adminRecoveryCodes = await shown.locator('li').allTextContents();
    await page.screenshot({ path: join(SCREENSHOTS, 'recovery-codes.png'), fullPage: true });
    // The download is the same codes as a text file.
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download as .txt' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('lantern-recovery-codes.txt');
    expect(await readFile((await file.path()) ?? '', 'utf8')).toContain(
      adminRecoveryCodes.join('\n'),
    );
    await page.getByRole('button', { name: 'I have stored them' }).click();
    expect(await page.getByTestId('recovery-codes').count()).toBe(0);
    // This session proved the second factor while enrolling: the admin acts as one at once.
    await expect.poll(() => page.getByTestId('notice-second-factor').count()).toBe(0);
    await expect.poll(() => page.getByRole('link', { name: 'Admission queue' }).count()).toBe(1);
    expect(await page.getByTestId('two-factor-status').textContent()).toMatch(
      /^On: .* 10 of 10 recovery codes left\./,
    );

    // The laptop's session has no second factor: it is told to sign in again with a code.
    await laptop.reload();
    await expect
      .poll(() => laptop.getByTestId('notice-second-factor').textContent())
      .toBe('Your roles need two-factor sign-in: sign in again with your code');
    expect(await laptop.getByRole('link', { name: 'Admission queue' }).count()).toBe(0);
    await laptop.screenshot({ path: join(SCREENSHOTS, 'second-factor-sign-in-again.png') });
    await laptop.getByRole('button', { name: 'sign in again with your code' }).click();
    await expect.poll(() => laptop.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    await signIn(laptop, ADMIN.email, strong);
    await laptop.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await laptop.getByLabel('Recovery code').fill(adminRecoveryCodes.pop() ?? '');
    await laptop.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => laptop.getByRole('link', { name: 'Admission queue' }).count()).toBe(1);
    expect(await laptop.getByTestId('notice-second-factor').count()).toBe(0);
    await laptop.close();

    // Signing in again asks for a code; a wrong one is refused and the field stays.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('link', { name: 'Sign in' }).click();
    await signIn(page, ADMIN.email, strong);
    const code = page.getByLabel('Code from your authenticator app');
    await expect.poll(() => code.count()).toBe(1);
    expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
    expect(await code.getAttribute('inputmode')).toBe('numeric');
    expect(await page.locator('#code-prompt').textContent()).toMatch(/6-digit code/);
    await code.fill(adminAuthenticator().wrongCode());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/that code is wrong or was already used/);
    expect(await code.count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'sign-in-code.png') });
    await code.fill(await adminAuthenticator().code());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Administrator');
    await expect.poll(() => page.getByRole('link', { name: 'Admission queue' }).count()).toBe(1);

    // The session survives a reload (HttpOnly cookie), and signing out ends it.
    await page.reload();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Administrator');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    await page.close();
  });

  it('never follows a return path off the site after signing in', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/sign-in?next=//evil.example/phish`);
    await signIn(page, ADMIN.email, ADMIN.password);
    // A recovery code works in place of a code from the app, once.
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(adminRecoveryCodes.pop() ?? '');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Administrator');
    expect(page.url()).toBe(`${baseUrl}/`);
    await page.close();
  });

  it('shows your sessions and makes, uses and revokes an API token from the account page', async () => {
    const page = await (await signedInAdmin()).newPage();
    await page.goto(`${baseUrl}/account`);
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toBe('Your account');
    await expect.poll(() => page.getByTestId('sessions').textContent()).toContain('this browser');

    await page.getByLabel('Name').fill('e2e reader');
    await page.getByLabel('audit.read').check();
    await page.getByRole('button', { name: 'Make token' }).click();
    const shown =
      (await page.getByTestId('new-token').locator('code').textContent({ timeout: 10_000 })) ?? '';
    expect(shown).toMatch(/^lnt_[a-z2-7]{52}$/);
    await expect.poll(() => page.getByTestId('tokens').textContent()).toContain('e2e reader');
    await page.screenshot({ path: join(SCREENSHOTS, 'account.png'), fullPage: true });

    const withToken = { headers: { authorization: `Bearer ${shown}` } };
    expect((await page.request.get(`${baseUrl}/api/v1/audit/events`, withToken)).status()).toBe(
      200,
    );
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.getByTestId('tokens').textContent()).toContain('revoked');
    expect((await page.request.get(`${baseUrl}/api/v1/audit/events`, withToken)).status()).toBe(
      401,
    );
    await page.close();
  });

  it('lets a researcher apply, and confirms the address from the emailed link', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/sign-in`);
    await page.getByRole('link', { name: 'Apply for an account' }).click();
    await page.getByLabel('Full name').fill('Grace Hopper');
    await page.getByLabel('Email (at your institution)').fill('grace@navy.example');
    await page
      .getByLabel('Password (15 characters or more)')
      .fill('compilers translate human intent');
    await page.getByLabel('Institution', { exact: true }).fill('Naval Research Lab');
    await page.getByLabel('Your role there').fill('Research scientist');
    await page.getByLabel('ORCID iD (optional)').fill('0000-0002-1825-0098');
    await page
      .getByLabel('What do you want to study?')
      .fill('Outcomes after pneumonia seen on chest X-rays.');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('#orcid-problem').textContent()).toMatch(/check digit/);
    await page.screenshot({ path: join(SCREENSHOTS, 'register-refused.png'), fullPage: true });
    await page.getByLabel('ORCID iD (optional)').fill('0000-0002-1825-0097');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/check grace@navy\.example for a link/);

    // The admin reads the outbox (no SMTP here) and the link in it confirms the address.
    const outbox = await readOutbox();
    const link = /(http:\/\/\S+\/verify-email#token=lne_[a-z2-7]{52})/.exec(
      outbox.find((m) => m.to === 'grace@navy.example')?.text ?? '',
    )?.[1];
    expect(link).toBeDefined();
    await page.goto(link ?? '');
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/grace@navy\.example is confirmed/);
    expect(page.url()).toBe(`${baseUrl}/verify-email`);
    await page.close();
  });

  it('lets the applicant give training evidence and a reviewer admit her from the queue', async () => {
    const grace = await browser.newPage();
    await grace.goto(`${baseUrl}/sign-in`);
    await grace.getByLabel('Email').fill('grace@navy.example');
    await grace.getByLabel('Password').fill('compilers translate human intent');
    await grace.getByRole('button', { name: 'Sign in' }).click();
    await grace.getByRole('link', { name: 'Your application' }).click();
    await expect
      .poll(() => grace.getByTestId('standing').textContent())
      .toMatch(/Waiting for review; 0 applications are ahead/);
    expect(await grace.getByTestId('median-wait').textContent()).toBe(
      'No decisions yet to estimate the wait from.',
    );
    await grace.getByLabel('Certificate id').fill('CITI-48213');
    await grace.getByLabel('Valid until').fill(`${new Date().getFullYear() + 2}-06-30`);
    await grace.getByRole('button', { name: 'Save evidence' }).click();
    await expect
      .poll(() => grace.getByRole('status').first().textContent())
      .toMatch(/On file: certificate CITI-48213/);
    // The certificate itself, as a file: checked by its bytes on the server.
    await grace.getByLabel('Certificate file', { exact: true }).setInputFiles({
      name: 'CITI completion report.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n'),
    });
    await grace
      .getByLabel('Certificate file expires on')
      .fill(`${new Date().getFullYear() + 2}-06-30`);
    await grace.getByRole('button', { name: 'Upload file' }).click();
    await expect
      .poll(() => grace.getByTestId('certificate-file').textContent())
      .toMatch(/^File on file: CITI completion report\.pdf \(PDF, 1 KB\), valid until/);
    await grace.screenshot({ path: join(SCREENSHOTS, 'application.png'), fullPage: true });

    const admin = await (await signedInAdmin()).newPage();
    await admin.goto(`${baseUrl}/admission`);
    await expect
      .poll(() => admin.getByTestId('queue').textContent())
      .toContain('grace@navy.example');
    const fileLink = admin.getByRole('link', { name: 'CITI completion report.pdf' });
    const viewed = await admin.request.get(`${baseUrl}${await fileLink.getAttribute('href')}`);
    expect(viewed.headers()).toMatchObject({
      'content-type': 'application/pdf',
      'content-disposition': 'inline; filename="CITI completion report.pdf"',
      'x-content-type-options': 'nosniff',
    });
    expect(viewed.headers()['content-security-policy']).toMatch(/^sandbox;/);
    await admin.getByLabel('select grace@navy.example').check();
    await admin.screenshot({ path: join(SCREENSHOTS, 'admission-queue.png'), fullPage: true });
    admin.once('dialog', (dialog) => void dialog.accept());
    await admin.getByRole('button', { name: 'Admit selected' }).click();
    await expect.poll(() => admin.getByRole('status').textContent()).toBe('1 admitted.');
    await expect
      .poll(() => admin.getByTestId('queue-empty').textContent())
      .toBe('No applications are waiting.');
    await admin.getByRole('button', { name: 'Admitted' }).click();
    await expect
      .poll(() => admin.getByTestId('decided').textContent())
      .toMatch(/grace@navy\.example.*admitted.*admin@lantern\.local/);
    await admin.screenshot({ path: join(SCREENSHOTS, 'admission-decided.png'), fullPage: true });

    await grace.reload();
    await expect.poll(() => grace.getByTestId('standing').textContent()).toBe('You are admitted.');
    await grace.close();
    await admin.close();
  });

  it('offers a new verification link when a link is bad', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/verify-email#token=lne_${'a'.repeat(52)}`);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/invalid, used or expired/);
    await page.getByLabel('Your email address').fill('someone@navy.example');
    await page.getByRole('button', { name: 'Send me a new link' }).click();
    await expect
      .poll(() => page.getByTestId('resend-answer').textContent())
      .toMatch(/^If someone@navy\.example awaits confirmation, a new link is on its way/);
    await page.screenshot({ path: join(SCREENSHOTS, 'verify-email-resend.png') });
    await page.close();
  });

  it('lets a researcher who forgot her password set a new one, which signs her out elsewhere', async () => {
    // Grace is signed in on one browser (think: a stolen laptop) …
    const elsewhere = await browser.newPage();
    await elsewhere.goto(`${baseUrl}/sign-in`);
    await elsewhere.getByLabel('Email').fill('grace@navy.example');
    await elsewhere.getByLabel('Password').fill('compilers translate human intent');
    await elsewhere.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => elsewhere.getByTestId('signed-in-as').textContent())
      .toBe('Grace Hopper');

    // … and on another asks for a link.
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill('grace@navy.example');
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/^If an account exists for grace@navy\.example, we sent it a link/);
    await page.screenshot({ path: join(SCREENSHOTS, 'forgot-password.png') });

    const outbox = await readOutbox();
    const link = outbox
      .filter((m) => m.to === 'grace@navy.example')
      .map((m) => /(http:\/\/\S+\/set-password#token=lne_[a-z2-7]{52})/.exec(m.text)?.[1])
      .find((l) => l !== undefined);
    expect(link).toBeDefined();

    await page.goto(link ?? '');
    const fresh = 'lighthouses blink across the bay';
    await page.getByLabel('New password').fill(fresh);
    await page.getByLabel('Again').fill(fresh);
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/password of grace@navy\.example is set/);

    await elsewhere.reload();
    await expect.poll(() => elsewhere.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Email').fill('grace@navy.example');
    await page.getByLabel('Password').fill(fresh);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Grace Hopper');
    await elsewhere.close();
    await page.close();
  });

  it('asks a researcher to accept the terms, and again after an admin publishes a new version', async () => {
    const grace = await browser.newPage();
    await grace.goto(`${baseUrl}/sign-in`);
    await signIn(grace, 'grace@navy.example', 'lighthouses blink across the bay');
    await grace
      .getByRole('link', { name: 'New terms: read and accept them before touching data' })
      .click();
    expect(grace.url()).toBe(`${baseUrl}/terms`);
    await expect
      .poll(() => grace.getByTestId('terms-version').textContent())
      .toMatch(/^Version 1, published /);
    expect(
      await grace.getByRole('heading', { level: 2, name: '2. No download, ever' }).count(),
    ).toBe(1);
    expect(await grace.getByTestId('terms-standing').textContent()).toMatch(
      /You have not accepted these terms yet/,
    );
    await grace.getByRole('button', { name: 'I accept version 1' }).click();
    await expect
      .poll(() => grace.getByTestId('terms-standing').textContent())
      .toMatch(/^You accepted version 1 on /);
    await grace.screenshot({ path: join(SCREENSHOTS, 'terms.png'), fullPage: true });
    await grace.getByRole('link', { name: 'Home' }).click();
    await expect.poll(() => grace.getByTestId('signed-in-as').textContent()).toBe('Grace Hopper');
    expect(await grace.getByTestId('notice-terms').count()).toBe(0);

    // The admin sees who accepted what, and publishes version 2 behind a warning. The text tries
    // HTML and a javascript: link; neither may come alive on the page.
    const admin = await (await signedInAdmin()).newPage();
    await admin.goto(`${baseUrl}/`);
    await admin.getByRole('link', { name: 'Manage terms' }).click();
    await expect
      .poll(() => admin.getByTestId('terms-history').locator('tbody tr').first().textContent())
      .toMatch(/^1.*1 person$/);
    const body = [
      '## 1. Non-commercial research only',
      '',
      'You may use the data only for non-commercial research, teaching and the public good, and never to build or improve a commercial product.',
      '',
      '## 2. Report what you find',
      '',
      'Tell the curators about anything that could identify a person, from the page where you saw it, within **two days**.',
      '',
      '<script>window.pwned = true</script><img src="x" onerror="window.pwned = true">',
      '',
      '[contact the curators](javascript:window.pwned=true)',
    ].join('\n');
    await admin.getByLabel('Title').fill('Data use agreement');
    await admin.getByLabel('Text (Markdown)').fill(body);
    await expect
      .poll(() => admin.getByTestId('terms-preview').getByRole('heading', { level: 2 }).count())
      .toBe(2);
    await admin
      .getByLabel('What changed (people read this first)')
      .fill('Report findings within two days.');
    let warning = '';
    admin.once('dialog', (dialog) => {
      warning = dialog.message();
      void dialog.accept();
    });
    await admin.getByRole('button', { name: 'Publish version 2' }).click();
    await expect
      .poll(() => admin.getByRole('status').textContent())
      .toMatch(/^Version 2 is published/);
    expect(warning).toMatch(/Everyone, you included, will have to accept it again/);
    await expect
      .poll(() => admin.getByTestId('terms-history').locator('tbody tr').first().textContent())
      .toMatch(/^2Data use agreement.*0 people$/);
    await admin.screenshot({ path: join(SCREENSHOTS, 'admin-terms.png'), fullPage: true });
    await admin.close();

    // Grace is asked again, sees what changed, and accepts version 2.
    await grace.reload();
    await grace
      .getByRole('link', { name: 'New terms: read and accept them before touching data' })
      .click();
    await expect
      .poll(() => grace.getByTestId('terms-version').textContent())
      .toMatch(/^Version 2, published /);
    expect(await grace.getByTestId('terms-changes').textContent()).toBe(
      'What changedReport findings within two days.',
    );
    expect(await grace.getByTestId('terms-standing').textContent()).toMatch(
      /You accepted version 1\. Version 2 replaces it/,
    );
    const article = grace.locator('article.terms');
    expect(await article.locator('script, img').count()).toBe(0);
    expect(await article.textContent()).toContain('<script>window.pwned = true</script>');
    expect(
      (await article.getByText('contact the curators').getAttribute('href')) ?? '',
    ).not.toMatch(/^javascript:/i);
    expect(await grace.evaluate(() => 'pwned' in globalThis)).toBe(false);
    await grace.screenshot({ path: join(SCREENSHOTS, 'terms-version-2.png'), fullPage: true });
    await grace.getByRole('button', { name: 'I accept version 2' }).click();
    await expect
      .poll(() => grace.getByTestId('terms-standing').textContent())
      .toMatch(/^You accepted version 2 on /);
    // Earlier versions stay readable, and say they are not the current one.
    await grace.goto(`${baseUrl}/terms/versions/1`);
    await expect
      .poll(() => grace.getByTestId('terms-version').textContent())
      .toMatch(/^Version 1, published /);
    expect(await grace.getByText('This page keeps version 1').count()).toBe(1);
    expect(await grace.getByRole('button', { name: /I accept/ }).count()).toBe(0);
    await grace.close();
  });

  it('lets the admin make new recovery codes with a code from the app', async () => {
    const page = await (await signedInAdmin()).newPage();
    await page.goto(`${baseUrl}/account`);
    await expect
      .poll(() => page.getByTestId('two-factor-status').textContent())
      .toMatch(/7 of 10 recovery codes left/);
    // Required for admins: it cannot be turned off, and the page says why.
    expect(await page.getByRole('button', { name: 'Turn two-factor sign-in off' }).count()).toBe(0);
    expect(await page.locator('#two-factor').textContent()).toMatch(/cannot be turned off/);
    const form = page.getByRole('form', { name: 'New recovery codes' });
    await form
      .getByLabel('Code from your authenticator app')
      .fill(adminAuthenticator().wrongCode());
    await form.getByRole('button', { name: 'Make new recovery codes' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/does not match/);
    await form
      .getByLabel('Code from your authenticator app')
      .fill(await adminAuthenticator().code());
    await form.getByRole('button', { name: 'Make new recovery codes' }).click();
    await expect.poll(() => page.getByTestId('recovery-codes').locator('li').count()).toBe(10);
    await page.getByRole('button', { name: 'I have stored them' }).click();
    await expect
      .poll(() => page.getByTestId('two-factor-status').textContent())
      .toMatch(/10 of 10 recovery codes left/);
    await page.close();
  });

  it('lets a researcher turn two-factor sign-in on, then off again after a code and a warning', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/sign-in?next=/account`);
    await signIn(page, 'grace@navy.example', 'lighthouses blink across the bay');
    await expect
      .poll(() => page.getByTestId('two-factor-status').textContent())
      .toMatch(/^Off: your password alone signs you in/);
    expect(await page.getByTestId('notice-second-factor').count()).toBe(0);
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    const app = Authenticator.fromPage(await page.getByTestId('totp-secret').textContent());
    await page.getByLabel('Then enter the 6-digit code it shows').fill(app.wrongCode());
    await page.getByRole('button', { name: 'Turn on' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/does not match/);
    await page.getByLabel('Then enter the 6-digit code it shows').fill(await app.code());
    await page.getByRole('button', { name: 'Turn on' }).click();
    await expect.poll(() => page.getByTestId('recovery-codes').locator('li').count()).toBe(10);
    await page.getByRole('button', { name: 'I have stored them' }).click();
    await expect.poll(() => page.getByTestId('two-factor-status').textContent()).toMatch(/^On: /);

    // Not required for researchers, so it can be turned off: with a code, after a warning.
    const off = page.getByRole('form', { name: 'Turn off' });
    await off.getByLabel('Code from your authenticator app').fill(await app.code());
    page.once('dialog', (dialog) => void dialog.dismiss());
    await off.getByRole('button', { name: 'Turn two-factor sign-in off' }).click();
    expect(await page.getByTestId('two-factor-status').textContent()).toMatch(/^On: /);
    let warning = '';
    page.once('dialog', (dialog) => {
      warning = dialog.message();
      void dialog.accept();
    });
    await off.getByRole('button', { name: 'Turn two-factor sign-in off' }).click();
    await expect.poll(() => page.getByTestId('two-factor-status').textContent()).toMatch(/^Off: /);
    expect(warning).toMatch(/recovery codes stop working/);
    await page.close();
  });

  it('lets an admin find a person, suspend her with a reason, and reinstate her', async () => {
    const grace = await browser.newPage();
    await grace.goto(`${baseUrl}/sign-in?next=/account`);
    await signIn(grace, 'grace@navy.example', 'lighthouses blink across the bay');
    await expect.poll(() => grace.getByTestId('signed-in-as').count()).toBe(1);

    const admin = await (await signedInAdmin()).newPage();
    // The first, unfiltered list answers late (as on a slow connection): the filtered one, asked
    // for meanwhile, must be the list shown (an earlier answer replaced it, a CI run found).
    let lateAnswers = 0;
    await admin.route('**/api/v1/admin/users*', async (route) => {
      if (!route.request().url().includes('q=')) {
        lateAnswers += 1;
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      await route.continue();
    });
    await admin.goto(`${baseUrl}/admin/users`);
    await admin.getByLabel('Name, email or institution').fill('navy');
    await admin.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => admin.getByTestId('people').locator('tbody tr').count()).toBe(1);
    // Still the filtered list once the late answer is in.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(lateAnswers).toBeGreaterThan(0);
    expect(await admin.getByTestId('people').locator('tbody tr').count()).toBe(1);
    await admin.unroute('**/api/v1/admin/users*');
    await admin.getByRole('button', { name: 'manage grace@navy.example' }).click();
    const detail = admin.getByTestId('user-detail');
    await detail.getByLabel(/Reason for suspending/).fill('Shared her screen in a public talk');
    let question = '';
    admin.once('dialog', (dialog) => {
      question = dialog.message();
      void dialog.accept();
    });
    await detail.getByRole('button', { name: 'Suspend' }).click();
    await expect.poll(() => detail.getByRole('status').textContent()).toMatch(/is suspended/);
    expect(question).toMatch(/sessions and \d+ API tokens? end now/);
    await admin.screenshot({ path: `${SCREENSHOTS}admin-users-suspended.png`, fullPage: true });

    // Her open page is signed out at its next request.
    await grace.reload();
    const nav = grace.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    const mail = (await readOutbox()).find(
      (m) => m.to === 'grace@navy.example' && m.text.includes('was suspended'),
    );
    expect(mail?.text).toContain('Shared her screen in a public talk');

    admin.once('dialog', (dialog) => void dialog.accept());
    await detail.getByRole('button', { name: 'Reinstate' }).click();
    await expect.poll(() => detail.getByRole('status').textContent()).toMatch(/is reinstated/);
    await grace.goto(`${baseUrl}/sign-in?next=/account`);
    await signIn(grace, 'grace@navy.example', 'lighthouses blink across the bay');
    await expect.poll(() => grace.getByTestId('signed-in-as').count()).toBe(1);
    await grace.close();
    await admin.close();
  });

  it('shows a not-found page for an unknown path, and the API still answers problem+json', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/no/such/page`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Page not found');
    const api = await page.request.get(`${baseUrl}/api/v1/no/such/route`);
    expect(api.status()).toBe(404);
    expect(api.headers()['content-type']).toMatch(/^application\/problem\+json/);
    await page.close();
  });
});
