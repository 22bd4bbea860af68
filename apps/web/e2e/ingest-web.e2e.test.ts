import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKneeXrayDelivery } from '@lantern/synth';
import type { Browser, Page, Request, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitCurator, signIn } from './people.js';
import { launchChromium, SCREENSHOTS, startLantern } from './support.js';

// Ingest from the web app, in Debian's Chromium on the built product: a curator picks a small
// synthetic knee delivery (packages/synth), sees what will be sent, cancels a slowed upload (the
// server's staging folder goes), sends it again and follows the run to the draft's summary and on
// to the PHI review; a delivery the server refuses lists every problem; a folder without
// delivery.yaml is refused before anything is sent; an upload the server does not know is said to
// be gone. Every file goes with its SHA-256, and one whose bytes are altered on the way (a byte
// flipped by a route interception) is discarded by the server and named on the page, and Resume
// sends it again. The hashing runs in a Web Worker: the page stays responsive during a large
// upload, a worker that cannot start stops the upload before anything is sent, and resuming
// hashes again the files the server holds whole, naming one changed on disk since it was sent.
// Screenshots go to test-results/screenshots.
const CURATOR = {
  email: 'ingest-curator@hospital.example',
  password: 'deliveries arrive by browser',
  name: 'Mary Somerville',
};
/** Made up, no real person: a manifest the browser accepts and tables the server refuses. */
const REFUSED = {
  'delivery.yaml': `# Synthetic: written by the browser tests; no real person.
dataset: demo-refused-visits
partner: Example Health System
tables:
  - name: visits
    file: tables/visits.csv
    patient: mrn
    dates: [visit_date]
`,
  // Neither the patient column nor the dates column is there.
  'tables/visits.csv': 'patient,seen_on\nP-1,2020-01-02\nP-2,2020-02-03\n',
};

let work: string;
let dataDir: string;
let knee: string;
let kneeFiles: number;
let baseUrl: string;
let stopServer: () => Promise<void>;
let browser: Browser;

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    n += entry.isDirectory() ? await countFiles(join(dir, entry.name)) : 1;
  }
  return n;
}

const staging = () => readdir(join(dataDir, 'ingest-staging')).catch(() => []);

/**
 * The SHA-256 of each file of a delivery folder, in the order the page declares them (by path, as
 * checkDelivery sorts), so a file's place in the list is its index in the upload's URLs.
 */
async function hashesOf(dir: string, prefix = ''): Promise<{ path: string; sha256: string }[]> {
  const out: { path: string; sha256: string }[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      out.push(...(await hashesOf(dir, path)));
    } else {
      const bytes = await readFile(join(dir, path));
      out.push({ path, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A send of a file's bytes: the file's index, and the SHA-256 its last chunk carries. */
function fileSend(request: Request): { index: number; sha256: string | null } | null {
  const url = new URL(request.url());
  const index = /^\/api\/v1\/ingests\/[^/]+\/files\/(\d+)$/u.exec(url.pathname)?.[1];
  if (request.method() !== 'PUT' || index === undefined) {
    return null;
  }
  return { index: Number(index), sha256: url.searchParams.get('sha256') };
}

/** A curator's page on the ingest page, confirmations accepted and recorded. */
async function ingestPage(): Promise<{ page: Page; confirmations: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const confirmations: string[] = [];
  page.on('dialog', (dialog) => {
    confirmations.push(dialog.message());
    void dialog.accept();
  });
  await signIn(page, baseUrl, CURATOR, '/datasets');
  await page.getByRole('link', { name: 'Ingest a delivery' }).click();
  await expect
    .poll(() => page.getByRole('heading', { level: 1 }).textContent())
    .toBe('Ingest a delivery');
  return { page, confirmations };
}

const stageTitle = (page: Page) => page.getByTestId('stage-title').textContent();
const barValue = async (page: Page) =>
  Number(await page.getByLabel('Bytes sent').getAttribute('value'));

/** A way to set how fast `page` may send, in bytes per second (-1: as fast as it can). */
async function throttleOf(page: Page): Promise<(bytesPerSecond: number) => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  return async (bytesPerSecond) => {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: bytesPerSecond,
    });
  };
}

/** A curator's page sending `folder` at 256 kB/s, and the way to change its pace. */
async function slowUpload(
  folder: string,
): Promise<{ page: Page; throttle: (bytesPerSecond: number) => Promise<void> }> {
  const { page } = await ingestPage();
  await page.getByLabel('Delivery folder').setInputFiles(folder);
  const throttle = await throttleOf(page);
  await throttle(256 * 1024);
  await page.getByRole('button', { name: 'Upload and ingest' }).click();
  await expect.poll(() => stageTitle(page)).toBe('Sending the delivery');
  return { page, throttle };
}

/** The upload the tab follows, as the server lists its files. */
async function listedFiles(page: Page): Promise<{
  id: string;
  files: { index: number; path: string; size: number; received: number }[];
}> {
  const id = String(await page.evaluate("sessionStorage.getItem('lantern.ingest.upload')"));
  const listed = await page.evaluate<{
    files: { index: number; path: string; size: number; received: number }[];
  }>(`fetch('/api/v1/ingests/${id}/files').then((r) => r.json())`);
  return { id, files: listed.files };
}

/** The requests that write to the ingest API (declaring, sending, running), as they are made. */
function ingestWrites(page: Page): string[] {
  const writes: string[] = [];
  page.on('request', (request) => {
    if (
      request.method() !== 'GET' &&
      new URL(request.url()).pathname.startsWith('/api/v1/ingests')
    ) {
      writes.push(`${request.method()} ${new URL(request.url()).pathname}`);
    }
  });
  return writes;
}
const sentText = (page: Page) => page.getByTestId('send-progress-text').textContent();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-e2e-ingest-web-'));
  dataDir = join(work, 'data');
  knee = join(work, 'knee-1');
  await generateKneeXrayDelivery({ out: knee, scale: 0.25, seed: 3, delivery: 1 });
  kneeFiles = await countFiles(knee);
  for (const [path, text] of Object.entries(REFUSED)) {
    await mkdir(join(work, 'refused', 'tables'), { recursive: true });
    await writeFile(join(work, 'refused', path), text);
  }
  await mkdir(join(work, 'no-manifest', 'tables'), { recursive: true });
  await writeFile(join(work, 'no-manifest', 'tables', 'patients.csv'), 'mrn,sex\nM-1,F\n');
  await mkdir(dataDir);
  const server = await startLantern(dataDir);
  baseUrl = server.url;
  stopServer = server.stop;
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  const admin = await admitCurator({
    browser,
    baseUrl,
    banner: server.output(),
    curator: { ...CURATOR, researchPurpose: 'Ingesting partner deliveries from the browser.' },
  });
  await admin.close();
}, 180_000);

afterAll(async () => {
  await browser.close();
  await stopServer();
  await rm(work, { recursive: true, force: true });
});

describe('ingest from the web app', () => {
  it('shows what will be sent, cancels a slow upload cleanly, then ingests and ends on the draft', async () => {
    const { page, confirmations } = await ingestPage();
    const input = page.getByLabel('Delivery folder');
    await input.setInputFiles(knee);
    const preview = page.getByTestId('delivery-preview');
    await expect
      .poll(() => preview.getByTestId('delivery-files').textContent())
      .toBe(String(kneeFiles));
    expect(await preview.getByTestId('delivery-manifest').textContent()).toMatch(
      /^found: dataset demo-knee-xray from .+, 3 tables \(/u,
    );
    expect(await preview.getByTestId('delivery-bytes').textContent()).toMatch(/^\d.* (kB|MB)$/u);

    // Slowed to 64 kB/s, the upload is under way long enough to be cancelled.
    const throttle = await throttleOf(page);
    await throttle(64 * 1024);
    await page.getByRole('button', { name: 'Upload and ingest' }).click();
    await expect.poll(() => stageTitle(page)).toBe('Sending the delivery');
    const sent = page.getByTestId('send-progress-text');
    await expect
      .poll(async () => /^0 B of/u.test((await sent.textContent()) ?? '0 B of'), {
        timeout: 10_000,
      })
      .toBe(false);
    expect(await sent.textContent()).toMatch(
      /^[\d.]+ k?B of [\d.]+ [kM]B · \d+ of \d+ files · [\d.]+ k?B\/s · .+ left$/u,
    );
    expect(await staging()).toHaveLength(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'ingest-sending.png'), fullPage: true });
    await page.getByRole('button', { name: 'Cancel the upload' }).click();
    await expect.poll(() => stageTitle(page), { timeout: 10_000 }).toBe('Upload cancelled');
    expect(confirmations).toEqual([
      'Cancel the upload? Sending stops, and the files the server has received are deleted.',
    ]);
    // Sends aborted on their way may still be closing: their files go as they end.
    await expect.poll(staging, { timeout: 10_000 }).toEqual([]);

    // Again at full speed: sent, run, and summed up.
    await throttle(-1);
    await page.getByRole('button', { name: 'Ingest another delivery' }).click();
    await page.getByLabel('Delivery folder').setInputFiles(knee);
    // Each file's last chunk says the file's SHA-256, which the server checks.
    const hashesSent = new Map<number, string>();
    page.on('request', (request) => {
      const send = fileSend(request);
      if (send?.sha256 !== null && send !== null) {
        hashesSent.set(send.index, send.sha256);
      }
    });
    await page.getByRole('button', { name: 'Upload and ingest' }).click();
    await expect
      .poll(() => stageTitle(page), { timeout: 60_000, interval: 200 })
      .toBe('Draft of demo-knee-xray made');
    const summary = page.getByTestId('ingest-summary');
    expect(await summary.getByTestId('count-tables').textContent()).toMatch(/^3 \(\d+ rows\)$/u);
    const files = Number(await summary.getByTestId('count-files').textContent());
    const held = Number(await summary.getByTestId('count-held').textContent());
    const stored = /^(\d+) new, (\d+) already/u.exec(
      (await summary.getByTestId('count-stored').textContent()) ?? '',
    );
    expect(Number(stored?.[1]) + Number(stored?.[2]) + held).toBe(files);
    expect(held).toBeGreaterThan(0);
    expect(await summary.getByTestId('summary-held').locator('li').count()).toBe(held);
    expect([...hashesSent.entries()].sort(([a], [b]) => a - b).map(([, h]) => h)).toEqual(
      (await hashesOf(knee)).map((f) => f.sha256),
    );
    expect(await summary.getByTestId('summary-phi').textContent()).toMatch(
      /^1 finding to review \(patients\.birth_date: birth-date\)\. Review the PHI findings$/u,
    );
    expect(await summary.getByTestId('summary-next').textContent()).toMatch(
      /^Decide every PHI finding on the draft page/u,
    );
    expect(await staging()).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'ingest-summary.png'), fullPage: true });

    // On to the review, by keyboard.
    await summary.getByRole('link', { name: 'Review the PHI findings' }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('phi-open').textContent())
      .toBe('1 of 1 finding open: publication waits for a decision on each.');
    expect(new URL(page.url()).pathname).toBe('/datasets/demo-knee-xray/draft');
    // Decided here, the drop is kept by the next ingest of the delivery (the next test).
    await page.getByRole('button', { name: 'Drop the column patients.birth_date' }).click();
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toBe('Column patients.birth_date dropped.');
    expect(confirmations.at(-1)).toMatch(/^Drop the column patients\.birth_date\?/u);
    await page.close();
  });

  it('resumes an upload after a reload: the same folder picked again sends only the rest', async () => {
    const { page, throttle } = await slowUpload(knee);
    // Some files complete on the server, then the tab reloads mid-send.
    const filesDone = async () =>
      Number(/· (\d+) of \d+ files/u.exec((await sentText(page)) ?? '')?.[1] ?? 0);
    await expect.poll(filesDone, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const before = await filesDone();
    await page.reload();
    await expect.poll(() => stageTitle(page)).toBe('An upload was interrupted');
    expect(await page.getByTestId('upload-interrupted').textContent()).toMatch(
      /stopped after [\d.]+ [kM]?B of [\d.]+ [kM]B \(\d+ files? of \d+ complete\)/u,
    );
    expect(await staging()).toHaveLength(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'ingest-interrupted.png'), fullPage: true });

    // The same folder again: the bar starts where the server's bytes end, not at 0.
    await page.getByLabel('Delivery folder').setInputFiles(knee);
    await expect.poll(() => stageTitle(page)).toBe('Sending the delivery');
    const bar = page.getByLabel('Bytes sent');
    await expect.poll(() => bar.count()).toBe(1);
    expect(Number(await bar.getAttribute('value'))).toBeGreaterThan(0);
    expect(await filesDone()).toBeGreaterThanOrEqual(before);
    await page.screenshot({ path: join(SCREENSHOTS, 'ingest-resumed.png'), fullPage: true });

    await throttle(-1);
    await expect
      .poll(() => stageTitle(page), { timeout: 60_000, interval: 200 })
      .toBe('Draft of demo-knee-xray made');
    expect(Number(await page.getByTestId('count-files').textContent())).toBeGreaterThan(0);
    // The curator's drop of the delivery before is kept, and said (it was thrown away, silently).
    expect(await page.getByTestId('summary-decisions').textContent()).toMatch(
      /^Decisions of the review before \(ingest ing_[0-9a-f]{20}\): 1 kept \(1 on PHI findings, 0 on held files\), 0 dropped; new and open: 0 PHI findings, \d+ held files?$/u,
    );
    expect(await page.getByTestId('summary-phi').textContent()).toMatch(
      /^1 finding found, each decided \(patients\.birth_date: birth-date\)\./u,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'ingest-decisions-kept.png'), fullPage: true });
    expect(await staging()).toEqual([]);
    await page.close();
  });

  it('names a file whose bytes arrive altered, keeps nothing of it, and sends it again on Resume', async () => {
    const { page } = await ingestPage();
    const files = await hashesOf(knee);
    const target = files.findIndex((f) => f.path === 'tables/patients.csv');
    expect(target).toBeGreaterThanOrEqual(0);
    // One byte of the file's (only, so last) chunk flipped on its way: it still says the SHA-256
    // of the file as read.
    let flipped = 0;
    const sends: number[] = [];
    await page.route('**/api/v1/ingests/*/files/*', async (route) => {
      const send = fileSend(route.request());
      const body = route.request().postDataBuffer();
      if (send !== null) {
        sends.push(send.index);
      }
      if (send?.index === target && send.sha256 !== null && body !== null && flipped === 0) {
        flipped += 1;
        const altered = Buffer.from(body);
        altered[altered.length >> 1] = (altered[altered.length >> 1] ?? 0) ^ 0x20;
        await route.continue({ postData: altered });
        return;
      }
      await route.continue();
    });
    await page.getByLabel('Delivery folder').setInputFiles(knee);
    await page.getByRole('button', { name: 'Upload and ingest' }).click();
    await expect.poll(() => stageTitle(page), { timeout: 30_000 }).toBe('The upload stopped');
    expect(flipped).toBe(1);
    expect(await page.getByTestId('upload-paused').textContent()).toBe(
      "tables/patients.csv did not arrive as it was sent: the bytes the server received do not have the file's SHA-256, and it discarded them. The server keeps what it received: resume to send only the rest.",
    );
    expect(
      await page.getByRole('list', { name: 'Files to send again' }).locator('li').allTextContents(),
    ).toEqual([
      'tables/patients.csv: arrived altered; nothing of it was kept, and Resume sends it again',
    ]);
    // The server holds none of the file's bytes.
    const id = await page.evaluate("sessionStorage.getItem('lantern.ingest.upload')");
    const listed = await page.evaluate<{ files: { path: string; received: number }[] }>(
      `fetch('/api/v1/ingests/${String(id)}/files').then((r) => r.json())`,
    );
    expect(listed.files.find((f) => f.path === 'tables/patients.csv')?.received).toBe(0);
    // The bar says what the server holds: not all of it.
    const bar = page.getByLabel('Bytes sent');
    await expect
      .poll(async () => Number(await bar.getAttribute('value')))
      .toBeLessThan(Number(await bar.getAttribute('max')));
    await page.screenshot({ path: join(SCREENSHOTS, 'ingest-altered.png'), fullPage: true });

    // Resumed: the file is sent again, whole, and checked; the ingest makes its draft.
    await page.getByRole('button', { name: 'Resume the upload' }).click();
    await expect
      .poll(() => stageTitle(page), { timeout: 60_000, interval: 200 })
      .toBe('Draft of demo-knee-xray made');
    expect(sends.filter((index) => index === target)).toHaveLength(2);
    expect(Number(await page.getByTestId('count-files').textContent())).toBeGreaterThan(0);
    expect(await staging()).toEqual([]);
    await page.close();
  });

  it('asks for the folder again when one of its files changed after it was chosen', async () => {
    const { page } = await ingestPage();
    const copy = join(work, 'knee-touched');
    await cp(knee, copy, { recursive: true });
    await page.getByLabel('Delivery folder').setInputFiles(copy);
    await expect
      .poll(() => page.getByTestId('delivery-files').textContent())
      .toBe(String(kneeFiles));
    // Touched since: the browser's snapshot of it no longer reads.
    const later = new Date(Date.now() + 60_000);
    await utimes(join(copy, 'tables', 'patients.csv'), later, later);
    await page.getByRole('button', { name: 'Upload and ingest' }).click();
    await expect
      .poll(() => stageTitle(page), { timeout: 30_000 })
      .toBe('An upload was interrupted');
    expect(
      await page
        .getByRole('list', { name: 'How the folder differs' })
        .locator('li')
        .allTextContents(),
    ).toEqual([
      'tables/patients.csv: can no longer be read: it changed or went since the folder was chosen',
    ]);

    // Chosen again: the upload goes on, and ends on the draft.
    await page.getByLabel('Delivery folder').setInputFiles(copy);
    await expect
      .poll(() => stageTitle(page), { timeout: 60_000, interval: 200 })
      .toBe('Draft of demo-knee-xray made');
    expect(await staging()).toEqual([]);
    await page.close();
  });

  it('hashes in a worker: during a large upload the page renders, its bar advances and the keyboard cancels', async () => {
    const large = join(work, 'knee-large');
    await cp(knee, large, { recursive: true });
    await writeFile(join(large, 'files', 'large.bin'), randomBytes(96 * 1024 * 1024));
    const { page, confirmations } = await ingestPage();
    const responses: Response[] = [];
    page.on('response', (response) => responses.push(response));
    // Loaded again with its responses watched: the app's policy and the worker's script.
    await page.reload();
    await page.getByLabel('Delivery folder').setInputFiles(large);
    await expect
      .poll(() => page.getByTestId('delivery-files').textContent())
      .toBe(String(kneeFiles + 1));
    // The page's own callbacks, counted: a frame drawn, a timer run.
    await page.evaluate(`(() => {
      window.frames_ = 0;
      window.timers_ = 0;
      const frame = () => { window.frames_ += 1; requestAnimationFrame(frame); };
      requestAnimationFrame(frame);
      setInterval(() => { window.timers_ += 1; }, 10);
    })()`);
    const counts = () =>
      page.evaluate<{ frames: number; timers: number }>(
        '({ frames: window.frames_, timers: window.timers_ })',
      );
    // Slow enough that the upload lasts while the page is watched and the keyboard used.
    await (
      await throttleOf(page)
    )(4 * 1024 * 1024);
    await page.getByRole('button', { name: 'Upload and ingest' }).click();
    await expect.poll(() => stageTitle(page)).toBe('Sending the delivery');
    await expect.poll(() => barValue(page), { timeout: 30_000 }).toBeGreaterThan(0);
    const worker = page
      .workers()
      .find((w) => /\/assets\/upload-hash\.worker-[\w-]+\.js$/u.test(w.url()));
    expect(worker).toBeDefined();

    // 16 MiB more sent and hashed: the bar moves through it, and the page's callbacks keep running.
    const from = await barValue(page);
    const before = await counts();
    const steps = new Set<number>();
    await expect
      .poll(
        async () => {
          const value = await barValue(page);
          steps.add(value);
          return value;
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBeGreaterThanOrEqual(from + 16 * 1024 * 1024);
    const after = await counts();
    expect(steps.size).toBeGreaterThanOrEqual(3);
    expect(after.frames - before.frames).toBeGreaterThanOrEqual(10);
    expect(after.timers - before.timers).toBeGreaterThanOrEqual(10);

    // Still sending: by keyboard, from the stage's heading to Cancel.
    expect(await stageTitle(page)).toBe('Sending the delivery');
    expect(await barValue(page)).toBeLessThan(
      Number(await page.getByLabel('Bytes sent').getAttribute('max')),
    );
    await page.getByTestId('stage-title').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel the upload');
    await page.keyboard.press('Enter');
    await expect.poll(() => stageTitle(page), { timeout: 30_000 }).toBe('Upload cancelled');
    expect(confirmations).toHaveLength(1);
    await expect.poll(staging, { timeout: 10_000 }).toEqual([]);

    // The app came under a policy that denies by default and allows its own workers; the worker's
    // script as JavaScript.
    const document = responses.find((r) => r.request().resourceType() === 'document');
    const policy = (await document?.allHeaders())?.['content-security-policy'] ?? '';
    expect(policy).toMatch(/(^|; )default-src 'none'(;|$)/u);
    expect(policy).toMatch(/(^|; )worker-src 'self'(;|$)/u);
    const script = responses.find((r) => r.url() === worker?.url());
    expect((await script?.allHeaders())?.['content-type']).toMatch(
      /^(text|application)\/javascript\b/u,
    );
    await page.close();
    await rm(large, { recursive: true, force: true });
  });

  it('sends nothing, not even the declaration, when the hashing worker cannot start', async () => {
    const { page } = await ingestPage();
    await page.route('**/assets/upload-hash.worker-*.js', (route) => route.abort());
    const writes = ingestWrites(page);
    await page.getByLabel('Delivery folder').setInputFiles(knee);
    await page.getByRole('button', { name: 'Upload and ingest' }).click();
    await expect
      .poll(() => stageTitle(page), { timeout: 30_000 })
      .toBe('The delivery could not be sent');
    expect(await page.getByRole('alert').textContent()).toMatch(
      /^the browser could not run the worker that works out each file's SHA-256 \(.+\)\. Nothing was sent unchecked: reload the page/u,
    );
    expect(writes).toEqual([]);
    expect(await staging()).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'ingest-no-worker.png'), fullPage: true });
    await page.close();
  });

  it('on resuming, hashes again the files the server holds whole: one changed since is named, and nothing runs', async () => {
    const copy = join(work, 'knee-resumed');
    await cp(knee, copy, { recursive: true });
    const { page, throttle } = await slowUpload(copy);
    await expect
      .poll(
        async () =>
          (await listedFiles(page)).files.filter((f) => f.received === f.size && f.size > 0).length,
        {
          timeout: 30_000,
        },
      )
      .toBeGreaterThanOrEqual(2);
    await page.reload();
    await expect.poll(() => stageTitle(page)).toBe('An upload was interrupted');
    await throttle(-1);

    // A file the server holds whole (not the manifest) changes on disk, keeping its size.
    const { id, files } = await listedFiles(page);
    const held = files.find(
      (f) => f.received === f.size && f.size > 0 && f.path !== 'delivery.yaml',
    );
    expect(held).toBeDefined();
    const path = join(copy, held?.path ?? '');
    const original = await readFile(path);
    const changed = Buffer.from(original);
    changed[changed.length >> 1] = (changed[changed.length >> 1] ?? 0) ^ 0x01;
    await writeFile(path, changed);

    const writes = ingestWrites(page);
    await page.getByLabel('Delivery folder').setInputFiles(copy);
    await expect
      .poll(
        () =>
          page
            .getByRole('list', { name: 'How the folder differs' })
            .locator('li')
            .allTextContents(),
        {
          timeout: 30_000,
        },
      )
      .toEqual([`${held?.path}: changed since it was declared for this upload`]);
    expect(await stageTitle(page)).toBe('An upload was interrupted');
    // Nothing sent, nothing run: the server still holds the file as it was sent.
    expect(writes).toEqual([]);
    const upload = await page.evaluate<{ status: string }>(
      `fetch('/api/v1/ingests/${id}').then((r) => r.json())`,
    );
    expect(upload.status).toBe('uploading');
    expect((await listedFiles(page)).files.find((f) => f.index === held?.index)?.received).toBe(
      held?.size,
    );
    await page.screenshot({
      path: join(SCREENSHOTS, 'ingest-changed-since-sent.png'),
      fullPage: true,
    });

    // The folder as it was sent: the rest goes, the file held whole is not sent again.
    await writeFile(path, original);
    await page.getByLabel('Delivery folder').setInputFiles(copy);
    await expect
      .poll(() => stageTitle(page), { timeout: 60_000, interval: 200 })
      .toBe('Draft of demo-knee-xray made');
    expect(writes.filter((w) => w.endsWith(`/files/${held?.index}`))).toEqual([]);
    expect(writes.at(-1)).toBe(`POST /api/v1/ingests/${id}/run`);
    expect(await staging()).toEqual([]);
    await page.close();
  });

  it('lists every problem of a delivery the server refuses', async () => {
    const { page } = await ingestPage();
    await page.getByLabel('Delivery folder').setInputFiles(join(work, 'refused'));
    await page.getByRole('button', { name: 'Upload and ingest' }).click();
    await expect.poll(() => stageTitle(page), { timeout: 30_000 }).toBe('The delivery was refused');
    const problems = await page
      .getByRole('list', { name: 'Every problem of the delivery' })
      .locator('li')
      .allTextContents();
    expect(problems.length).toBeGreaterThanOrEqual(2);
    expect(problems.some((p) => /^tables\/visits\.csv.*: .*mrn/u.test(p))).toBe(true);
    expect(problems.some((p) => /^tables\/visits\.csv.*: .*visit_date/u.test(p))).toBe(true);
    expect(await staging()).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'ingest-refused.png'), fullPage: true });
    await page.close();
  });

  it('refuses a folder without delivery.yaml before sending, and says when an upload is gone', async () => {
    const { page } = await ingestPage();
    await page.getByLabel('Delivery folder').setInputFiles(join(work, 'no-manifest'));
    const preview = page.getByTestId('delivery-preview');
    await expect
      .poll(() => preview.getByTestId('delivery-manifest').textContent())
      .toBe('not found');
    expect(await preview.getByRole('alert').textContent()).toBe(
      'This folder cannot be ingested: 1 problem.',
    );
    expect(await page.getByRole('button', { name: 'Upload and ingest' }).count()).toBe(0);

    // The tab followed an upload the server no longer has (cancelled elsewhere, or expired).
    await page.evaluate(
      "sessionStorage.setItem('lantern.ingest.upload', 'upl_00000000000000000000')",
    );
    await page.reload();
    await expect.poll(() => stageTitle(page)).toBe('The server no longer has this upload');
    expect(await page.getByTestId('upload-forgotten').textContent()).toMatch(/an hour/u);
    await page.close();
  });
});
