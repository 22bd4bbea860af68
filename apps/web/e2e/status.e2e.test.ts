import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Browser tests drive the built product in Debian's Chromium, as a user would: `lantern start`,
// then pages. Screenshots are kept under test-results/screenshots for people to look at.
const LANTERN_BIN = fileURLToPath(new URL('../../cli/bin/lantern.js', import.meta.url));
const SCREENSHOTS = fileURLToPath(new URL('../../../test-results/screenshots/', import.meta.url));

let dataDir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;
let banner: string;
let browser: Browser;

function startLantern(
  dir: string,
): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [LANTERN_BIN, 'start', '--port', '0', '--data-dir', dir],
      {
        env: { ...process.env, LANTERN_LOG_LEVEL: 'warn' },
      },
    );
    let output = '';
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /is running at (http:\/\/\S+?)\/?\s/.exec(output)?.[1];
      // Wait for the whole banner: the first start also prints the first admin's link.
      if (url !== undefined && /stop with Ctrl-C/.test(output)) {
        resolve({ url, output: () => output, stop: () => (child.kill('SIGTERM'), exited) });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`lantern start exited before listening:\n${output}`)));
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-'));
  const server = await startLantern(dataDir);
  baseUrl = server.url;
  stopServer = server.stop;
  banner = server.output();
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-quic', '--disable-background-networking', '--no-first-run'],
  });
});

afterAll(async () => {
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
    await page.getByLabel('Email').fill('admin@lantern.local');
    await page.getByLabel('Password').fill('a wrong password entirely');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('wrong email or password');
    await page.getByLabel('Password').fill(strong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Administrator');
    expect(page.url()).toBe(`${baseUrl}/`);
    await page.screenshot({ path: join(SCREENSHOTS, 'signed-in.png') });

    // The session survives a reload (HttpOnly cookie), and signing out ends it.
    await page.reload();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Administrator');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    await page.close();
  });

  it('never follows a return path off the site after signing in', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/sign-in?next=//evil.example/phish`);
    await page.getByLabel('Email').fill('admin@lantern.local');
    await page.getByLabel('Password').fill('quiet orchard under seven moons');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Administrator');
    expect(page.url()).toBe(`${baseUrl}/`);
    await page.close();
  });

  it('shows your sessions and makes, uses and revokes an API token from the account page', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/sign-in?next=/account`);
    await page.getByLabel('Email').fill('admin@lantern.local');
    await page.getByLabel('Password').fill('quiet orchard under seven moons');
    await page.getByRole('button', { name: 'Sign in' }).click();
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
    const admin = await browser.newContext();
    const signIn = await admin.request.post(`${baseUrl}/api/v1/auth/sign-in`, {
      headers: { 'x-lantern-csrf': '1' },
      data: { email: 'admin@lantern.local', password: 'quiet orchard under seven moons' },
    });
    expect(signIn.status()).toBe(200);
    const outbox = (await (await admin.request.get(`${baseUrl}/api/v1/admin/outbox`)).json()) as {
      messages: { to: string; text: string }[];
    };
    const link = /(http:\/\/\S+\/verify-email#token=lne_[a-z2-7]{52})/.exec(
      outbox.messages.find((m) => m.to === 'grace@navy.example')?.text ?? '',
    )?.[1];
    expect(link).toBeDefined();
    await admin.close();
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

    const admin = await browser.newPage();
    await admin.goto(`${baseUrl}/sign-in?next=/admission`);
    await admin.getByLabel('Email').fill('admin@lantern.local');
    await admin.getByLabel('Password').fill('quiet orchard under seven moons');
    await admin.getByRole('button', { name: 'Sign in' }).click();
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

    const admin = await browser.newContext();
    await admin.request.post(`${baseUrl}/api/v1/auth/sign-in`, {
      headers: { 'x-lantern-csrf': '1' },
      data: { email: 'admin@lantern.local', password: 'quiet orchard under seven moons' },
    });
    const outbox = (await (await admin.request.get(`${baseUrl}/api/v1/admin/outbox`)).json()) as {
      messages: { to: string; text: string }[];
    };
    await admin.close();
    const link = outbox.messages
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
