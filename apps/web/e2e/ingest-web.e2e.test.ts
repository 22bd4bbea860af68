import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKneeXrayDelivery } from '@lantern/synth';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitCurator, signIn } from './people.js';
import { launchChromium, SCREENSHOTS, startLantern } from './support.js';

// Ingest from the web app, in Debian's Chromium on the built product: a curator picks a small
// synthetic knee delivery (packages/synth), sees what will be sent, cancels a slowed upload (the
// server's staging folder goes), sends it again and follows the run to the draft's summary and on
// to the PHI review; a delivery the server refuses lists every problem; a folder without
// delivery.yaml is refused before anything is sent; an upload the server does not know is said to
// be gone. Screenshots go to test-results/screenshots.
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
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 64 * 1024,
    });
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
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await page.getByRole('button', { name: 'Ingest another delivery' }).click();
    await page.getByLabel('Delivery folder').setInputFiles(knee);
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
    await page.close();
  });

  it('resumes an upload after a reload: the same folder picked again sends only the rest', async () => {
    const { page } = await ingestPage();
    await page.getByLabel('Delivery folder').setInputFiles(knee);
    const cdp = await page.context().newCDPSession(page);
    const throttle = (bytesPerSecond: number) =>
      cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: bytesPerSecond,
      });
    await throttle(256 * 1024);
    await page.getByRole('button', { name: 'Upload and ingest' }).click();
    await expect.poll(() => stageTitle(page)).toBe('Sending the delivery');
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
