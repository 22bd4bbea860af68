import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestDrafts, type IngestedDraft } from './ingest-draft.js';
import { admitCurator, signIn } from './people.js';
import { launchChromium, SCREENSHOTS, startLantern } from './support.js';

// The PHI review on the draft page, in Debian's Chromium on the built product: deliveries are
// ingested into a fresh data directory before `lantern start` (the synthetic knee radiographs, and
// two small ones written here); a curator opens the drafts the ingest made, sees what the scan
// found (masked) and the radiographs held back, and decides every finding — a column dropped
// behind a confirmation, findings confirmed as not PHI with a note — publishing once nothing is
// open (the held radiographs excluded at once; held-review.e2e.test.ts reviews them one by one). Screenshots go to test-results/screenshots.
const SLUG = 'demo-knee-xray';
/** Deliveries written here, made up, no real person: one the scan flags, one with nothing to find. */
const NOTES = 'demo-clinic-notes';
const CLEAN = 'demo-clean-labels';
const manifest = (slug: string, table: string, dates: string) =>
  `# Synthetic: written by the browser tests; no real person.
dataset: ${slug}
partner: Example Health System
tables:
  - name: ${table}
    file: tables/${table}.csv
    patient: mrn
${dates}`;
const FOLDERS: Record<string, Record<string, string>> = {
  [NOTES]: {
    'delivery.yaml': manifest(NOTES, 'visits', '    dates: [visit_date]\n'),
    'tables/visits.csv': [
      'mrn,visit_date,note,contact',
      'MRN-0001,2020-01-02,Seen with her daughter; call back on (415) 555-0142 after the scan.,helen.marsh@example.org',
      'MRN-0002,2020-02-03,Knee pain improving. Follow up with Dr. Alan Whitfield in 6 weeks.,j.okafor@example.net',
      'MRN-0003,2020-03-04,No concerns today.,r.silva@example.com',
      '',
    ].join('\n'),
  },
  [CLEAN]: {
    'delivery.yaml': manifest(CLEAN, 'patients', ''),
    'tables/patients.csv': 'mrn,sex,age_at_exam\nMRN-0001,F,61\nMRN-0002,M,70\nMRN-0003,F,55\n',
  },
};
const CURATOR = {
  email: 'curator@hospital.example',
  password: 'curators decide every finding',
  name: 'Rosalind Franklin',
};

let dataDir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;
let banner: string;
let browser: Browser;
let drafts: Record<string, IngestedDraft>;

async function makeCurator(): Promise<void> {
  const adminContext = await admitCurator({
    browser,
    baseUrl,
    banner,
    curator: {
      ...CURATOR,
      researchPurpose: 'Reviewing what the PHI scan finds in partner deliveries.',
    },
  });
  await adminContext.close();
}

const signInAsCurator = (page: Page, next: string) => signIn(page, baseUrl, CURATOR, next);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-phi-'));
  const folders = await mkdtemp(join(tmpdir(), 'lantern-e2e-deliveries-'));
  for (const [slug, files] of Object.entries(FOLDERS)) {
    await mkdir(join(folders, slug, 'tables'), { recursive: true });
    for (const [path, text] of Object.entries(files)) {
      await writeFile(join(folders, slug, path), text);
    }
  }
  // Before the server starts: the ingest holds the data directory, as `lantern ingest` would.
  drafts = await ingestDrafts(dataDir, {
    demos: [{ slug: SLUG, scale: 0.25 }],
    folders: Object.keys(FOLDERS).map((slug) => join(folders, slug)),
  });
  await rm(folders, { recursive: true, force: true });
  const server = await startLantern(dataDir);
  baseUrl = server.url;
  stopServer = server.stop;
  banner = server.output();
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  await makeCurator();
}, 180_000);

afterAll(async () => {
  await browser.close();
  await stopServer();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the PHI review on the draft page', () => {
  it('lets a curator drop the column of a finding behind a confirmation, then publish', async () => {
    const ingested = drafts[SLUG] ?? { findings: [], held: 0 };
    expect(ingested.findings).toEqual(['patients.birth_date:birth-date']);
    expect(ingested.held).toBeGreaterThan(0);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const confirmations: string[] = [];
    let accept = false;
    page.on('dialog', (dialog) => {
      confirmations.push(dialog.message());
      void (accept ? dialog.accept() : dialog.dismiss());
    });
    await signInAsCurator(page, `/datasets/${SLUG}/draft`);

    const review = page.getByRole('region', { name: 'PHI review' });
    await expect
      .poll(() => review.getByTestId('phi-open').textContent())
      .toBe('1 of 1 finding open: publication waits for a decision on each.');
    const birth = review.getByTestId('phi-finding-patients.birth_date:birth-date');
    // Where, what, how many, how sure, why, and masked examples with their rows.
    expect(await birth.locator('th').textContent()).toBe('patients.birth_date');
    const cells = await birth.locator('td').allTextContents();
    expect(cells[0]).toBe('birth-date');
    expect(Number(cells[1])).toBeGreaterThan(0);
    expect(cells[2]).toMatch(/^\d+%$/);
    expect(cells[3]).not.toBe('');
    expect(cells[4]).toMatch(/^row \d+: /);
    expect(cells[4]).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    // Held back: the radiographs with burned-in text, with the reason, in their own section.
    const held = page.getByRole('region', { name: 'Held back for review' });
    await expect.poll(() => held.locator('tbody tr').count()).toBe(ingested.held);
    expect(await held.locator('tbody tr').first().textContent()).toMatch(/Burned In Annotation/);
    // The publication lists each open finding as blocking, with their count, and waits.
    const publish = page.getByRole('button', { name: /^Publish version/ });
    expect(await publish.isDisabled()).toBe(true);
    expect(await page.getByTestId('publication-phi-open').textContent()).toBe(
      '1 PHI finding without a decision block publication.',
    );
    expect(await page.getByTestId('problems').textContent()).toMatch(
      /Blocking \(phi\): \d+ cells? looks? like birth-date/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'phi-review-open.png'), fullPage: true });

    // Dropping asks first; declined, nothing changes.
    await birth.getByRole('button', { name: 'Drop the column patients.birth_date' }).click();
    expect(confirmations).toEqual([
      'Drop the column patients.birth_date? It leaves the published table patients: every row is rewritten without it.',
    ]);
    expect(await birth.getByTestId('phi-decision').textContent()).toMatch(/Drop the column/);
    // Accepted, by keyboard.
    accept = true;
    await birth.getByRole('button', { name: 'Drop the column patients.birth_date' }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toBe('Column patients.birth_date dropped.');
    expect(await birth.getByTestId('phi-decision').textContent()).toMatch(
      /^Column dropped by Rosalind Franklin on \S+: it is not in the published table patients\.$/,
    );
    expect(await page.getByTestId('draft-table-patients').textContent()).not.toMatch(/birth_date/);

    await expect
      .poll(() => review.getByTestId('phi-open').textContent())
      .toBe('Every finding is decided (1).');
    await expect.poll(() => page.getByTestId('publication-phi-open').count()).toBe(0);
    // The held radiographs still block it (held-review.e2e.test.ts reviews them): excluded at once.
    expect(await publish.isDisabled()).toBe(true);
    await held.getByLabel('Tick every open file').check();
    await held.getByRole('button', { name: 'Exclude the ticked files' }).click();
    await expect
      .poll(() => held.getByTestId('held-open').textContent())
      .toBe(`Every held file is decided (${ingested.held}).`);
    await expect.poll(() => publish.isDisabled()).toBe(false);
    expect(await page.getByTestId('problems').locator('li.blocking').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'phi-review-decided.png'), fullPage: true });

    await publish.click();
    await expect.poll(() => page.url()).toBe(`${baseUrl}/datasets/${SLUG}/versions/1.0`);
    await page.close();
  });

  it('takes "Not PHI" only with a note that says something, and counts what stays open', async () => {
    expect(drafts[NOTES]?.findings.sort()).toEqual([
      'visits.contact:email',
      'visits.note:name',
      'visits.note:phone',
    ]);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
    await signInAsCurator(page, `/datasets/${NOTES}/draft`);
    const review = page.getByRole('region', { name: 'PHI review' });
    await expect
      .poll(() => review.getByTestId('phi-open').textContent())
      .toBe('3 of 3 findings open: publication waits for a decision on each.');
    // Masked: nothing planted in the delivery is on the page.
    const text = (await review.textContent()) ?? '';
    for (const planted of ['helen.marsh', 'Whitfield', '555-0142', 'example.org']) {
      expect(text).not.toContain(planted);
    }
    const name = review.getByTestId('phi-finding-visits.note:name');
    expect(await name.locator('th').textContent()).toBe('visits.note (free text)');
    expect(await name.locator('td').nth(4).textContent()).toMatch(/^row 2: \S+$/);

    // A note of spaces: the server's words, nothing decided.
    await name.getByLabel('Why it is not PHI: visits.note (name)').fill('   ');
    await name.getByRole('button', { name: 'Not PHI: visits.note (name)' }).click();
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toMatch(/say why it is not PHI/);
    expect(await review.getByTestId('phi-open').textContent()).toMatch(/^3 of 3/);

    await name
      .getByLabel('Why it is not PHI: visits.note (name)')
      .fill('A clinician made up for this test.');
    await name.getByRole('button', { name: 'Not PHI: visits.note (name)' }).click();
    await expect
      .poll(() => name.getByTestId('phi-decision').textContent())
      .toMatch(
        /^Not PHI, confirmed by Rosalind Franklin on \S+: A clinician made up for this test\.$/,
      );
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toBe('visits.note (name) confirmed as not PHI.');
    // By keyboard: Enter in the note confirms.
    const phone = review.getByTestId('phi-finding-visits.note:phone');
    const note = phone.getByLabel('Why it is not PHI: visits.note (phone)');
    await note.fill('A 555 number: fictional.');
    await note.press('Enter');
    await expect
      .poll(() => review.getByTestId('phi-open').textContent())
      .toBe('1 of 3 findings open: publication waits for a decision on each.');
    expect(await page.getByTestId('publication-phi-open').textContent()).toBe(
      '1 PHI finding without a decision block publication.',
    );
    expect(await page.getByTestId('problems').textContent()).toMatch(
      /Blocking \(phi\): 3 cells look like email/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'phi-review-not-phi.png'), fullPage: true });

    await review.getByRole('button', { name: 'Drop the column visits.contact' }).click();
    // The message comes with the draft read again, the preview right after it.
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toBe('Column visits.contact dropped.');
    expect(await review.getByTestId('phi-open').textContent()).toBe(
      'Every finding is decided (3).',
    );
    expect(await page.getByTestId('draft-table-visits').textContent()).not.toMatch(/contact/);
    await expect.poll(() => page.getByTestId('problems').textContent()).not.toMatch(/\(phi\)/);
    expect(await page.getByTestId('publication-phi-open').count()).toBe(0);
    await page.close();
  });

  it("says when an ingest's scan found nothing, and shows a draft made by hand no review", async () => {
    expect(drafts[CLEAN]).toEqual({ findings: [], held: 0 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
    await signInAsCurator(page, `/datasets/${CLEAN}/draft`);
    const review = page.getByRole('region', { name: 'PHI review' });
    await expect
      .poll(() => review.getByTestId('phi-empty').textContent())
      .toBe('The scan found nothing.');
    expect(await page.getByTestId('held-empty').textContent()).toBe('No file was held back.');
    expect(await page.getByTestId('publication-phi-open').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'phi-review-empty.png'), fullPage: true });

    // A new draft after 1.0 is not an ingest's: the section is not there.
    await page.goto(`${baseUrl}/datasets/${SLUG}`);
    await page.getByRole('button', { name: 'Open a new draft' }).click();
    await expect.poll(() => page.url()).toBe(`${baseUrl}/datasets/${SLUG}/draft`);
    await expect.poll(() => page.getByTestId('computed-version').count()).toBe(1);
    expect(await page.getByRole('region', { name: 'PHI review' }).count()).toBe(0);
    await page.close();
  });
});
