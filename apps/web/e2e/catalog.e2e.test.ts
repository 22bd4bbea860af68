import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitCurator, signIn } from './people.js';
import { launchChromium, SCREENSHOTS, startLantern } from './support.js';

// The catalog's pages in Debian's Chromium, on the built product (`lantern start`): a curator
// makes and publishes a dataset from the draft page, an anonymous visitor finds and reads it.
// Screenshots are kept under test-results/screenshots for people to look at.
const CURATOR = {
  email: 'curator@hospital.example',
  password: 'curators document every column',
  name: 'Rosalind Franklin',
};

const PATIENTS = 'patient_ngsci_id,sex,age_at_exam\np1,F,61\np2,M,70\np3,F,55\n';
const XRAYS_V1 =
  'xray_id,patient_ngsci_id,view,exam_date\nx1,p1,AP,2020-01-02\nx2,p2,LAT,2020-02-03\n';
const XRAYS_V2 = `${XRAYS_V1}x3,p3,AP,2021-03-04\n`;

let dataDir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;
let banner: string;
let browser: Browser;
/** The admin's signed-in browser context (its API requests and its pages share the session). */
let adminContext: BrowserContext;

/** The curator of these tests, admitted by the first admin (whose context the admin steps use). */
async function makeCurator(): Promise<void> {
  adminContext = await admitCurator({
    browser,
    baseUrl,
    banner,
    curator: {
      ...CURATOR,
      researchPurpose: 'Curating the knee radiograph dataset for the catalog.',
    },
  });
}

const signInAsCurator = (page: Page, next: string) => signIn(page, baseUrl, CURATOR, next);

async function upload(page: Page, table: string, csv: string): Promise<void> {
  const form = page.getByRole('form', { name: 'Upload a table' });
  await form.getByLabel('Table name').fill(table);
  await form.getByLabel('CSV file').setInputFiles({
    name: `${table}.csv`,
    mimeType: 'text/csv',
    buffer: Buffer.from(csv),
  });
  await form.getByRole('button', { name: 'Upload' }).click();
  await expect
    .poll(() => page.getByTestId('draft-message').textContent())
    .toBe(`Table ${table} read.`);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-catalog-'));
  const server = await startLantern(dataDir);
  baseUrl = server.url;
  stopServer = server.stop;
  banner = server.output();
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  await makeCurator();
});

afterAll(async () => {
  await adminContext.close();
  await browser.close();
  await stopServer();
  await rm(dataDir, { recursive: true, force: true });
});

describe('catalog pages', () => {
  it('shows an empty catalog to anyone, in the main navigation', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/`);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Datasets' })
      .click();
    await expect
      .poll(() => page.getByTestId('catalog-empty').textContent())
      .toBe('The catalog has no datasets yet.');
    expect(await page.getByRole('link', { name: 'New dataset' }).count()).toBe(0);
    await page.close();
  });

  it('lets a curator create a dataset, fill its draft, see a blocking problem, fix it and publish 1.0', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
    await signInAsCurator(page, '/datasets');
    await page.getByRole('link', { name: 'New dataset' }).click();
    const form = page.getByRole('form', { name: 'New dataset' });
    await form.getByLabel(/^Slug/).fill('Knee X-rays');
    await form.getByLabel('Title').fill('Knee osteoarthritis outcomes: a dataset');
    await form
      .getByLabel('The medical problem, in one line')
      .fill('Which knees will need a replacement within five years?');
    await form.getByLabel('Category').selectOption({ label: 'X-ray images' });
    await form.getByLabel('Partner name').fill('Example Health System');
    await form.getByLabel(/^Partner country/).fill('ZZ');
    await form.getByLabel('Author name').fill('Ada Lovelace');
    await form
      .getByLabel('How to cite')
      .fill('Lovelace A. Knee outcomes (synthetic). Lantern, 2026.');
    await form.getByLabel(/^Tags/).fill('synthetic, knee');
    await form.getByLabel('X-ray radiographs (CR, DX)').check();
    await form.getByRole('button', { name: 'Create dataset' }).click();
    // Field by field: the server's errors sit under the fields they are about.
    await expect
      .poll(() => page.locator('#field-slug-problem').textContent())
      .toMatch(/lower-case/);
    expect(await page.locator('#field-partners-0-country-problem').textContent()).toMatch(
      /ISO 3166-1/,
    );
    await page.screenshot({
      path: join(SCREENSHOTS, 'catalog-new-dataset-refused.png'),
      fullPage: true,
    });
    await form.getByLabel(/^Slug/).fill('demo-knee-xray');
    await form.getByLabel(/^Partner country/).fill('US');
    await form.getByRole('button', { name: 'Create dataset' }).click();
    await expect.poll(() => page.url()).toBe(`${baseUrl}/datasets/demo-knee-xray/draft`);

    await upload(page, 'patients', PATIENTS);
    await upload(page, 'xrays', XRAYS_V1);
    expect(await page.getByTestId('draft-table-xrays').textContent()).toMatch(
      /tables\/xrays\.csv · 2 rows · columns read: xray_id \(string\), patient_ngsci_id \(string\), view \(string\), exam_date \(date\)/,
    );

    const patientKeys = page.getByRole('form', { name: 'Keys of patients' });
    await patientKeys
      .getByRole('group', { name: 'Primary key of patients' })
      .getByLabel('patient_ngsci_id')
      .check();
    await patientKeys.getByRole('button', { name: 'Save keys of patients' }).click();
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toBe('Keys of patients saved.');
    const xrayKeys = page.getByRole('form', { name: 'Keys of xrays' });
    await xrayKeys
      .getByRole('group', { name: 'Primary key of xrays' })
      .getByLabel('xray_id')
      .check();
    await xrayKeys.getByLabel(/^Column/).selectOption('patient_ngsci_id');
    await xrayKeys.getByLabel('References table').selectOption('patients');
    await xrayKeys.getByLabel('Referenced column').selectOption('patient_ngsci_id');
    await xrayKeys.getByRole('button', { name: 'Add foreign key' }).click();
    await xrayKeys.getByRole('button', { name: 'Save keys of xrays' }).click();
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toBe('Keys of xrays saved.');

    // Every column described but one.
    const descriptions: Record<string, string> = {
      'patients.patient_ngsci_id': 'Pseudonymous person id.',
      'patients.sex': 'Sex recorded at the exam.',
      'patients.age_at_exam': 'Age in years at the exam.',
      'xrays.xray_id': 'Radiograph id.',
      'xrays.patient_ngsci_id': 'The person.',
      'xrays.exam_date': 'Exam date, shifted per patient.',
    };
    const dictionary = page.getByRole('form', { name: 'Data dictionary' });
    // Examples come pre-filled from the first values of the draft's tables.
    await expect
      .poll(() => dictionary.getByLabel('Example of xrays.view', { exact: true }).inputValue())
      .toBe('AP');
    expect(
      await dictionary.getByLabel('Example of patients.age_at_exam', { exact: true }).inputValue(),
    ).toBe('61');
    for (const [column, text] of Object.entries(descriptions)) {
      await dictionary.getByLabel(`Description of ${column}`, { exact: true }).fill(text);
    }
    await dictionary.getByLabel('Unit of patients.age_at_exam', { exact: true }).fill('years');
    await dictionary
      .getByLabel('De-identification of xrays.exam_date', { exact: true })
      .selectOption('date-shift');
    await dictionary.getByRole('button', { name: 'Save data dictionary' }).click();
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toBe('Data dictionary saved.');
    await expect.poll(() => page.getByTestId('problems').textContent()).toMatch(/Blocking.*view/);
    const publish = page.getByRole('button', { name: 'Publish version 1.0' });
    expect(await publish.isDisabled()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'catalog-draft-blocked.png'), fullPage: true });

    await dictionary
      .getByLabel('Description of xrays.view', { exact: true })
      .fill('Projection of the radiograph.');
    await dictionary.getByLabel('Allowed values of xrays.view', { exact: true }).fill('AP, LAT');
    await dictionary.getByRole('button', { name: 'Save data dictionary' }).click();
    // Warnings may stay (the naming lint); nothing blocks any more.
    await expect.poll(() => publish.isDisabled()).toBe(false);
    expect(await page.getByTestId('problems').locator('li.blocking').count()).toBe(0);

    const documentation = page.getByRole('form', { name: 'Documentation' });
    await documentation
      .getByLabel('The problem (Markdown)')
      .fill('Knees **wear out**. <script>window.pwned = true</script>');
    await expect
      .poll(() => page.getByTestId('preview-doc-problem').locator('strong').textContent())
      .toBe('wear out');
    await documentation
      .getByLabel('Dataset overview (Markdown)')
      .fill('Two tables: `patients` and `xrays`.');
    await documentation.getByRole('button', { name: 'Save documentation' }).click();
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toBe('Documentation saved.');
    expect(await page.getByTestId('computed-version').textContent()).toMatch(
      /version 1\.0 \(the first version\)/,
    );
    expect(await page.getByTestId('preview-log').textContent()).toMatch(/Table patients added/);
    await page.getByLabel(/^Notes for this version/).fill('First release.');
    await page.screenshot({ path: join(SCREENSHOTS, 'catalog-draft-ready.png'), fullPage: true });
    await publish.click();
    await expect.poll(() => page.url()).toBe(`${baseUrl}/datasets/demo-knee-xray/versions/1.0`);
    await page.close();
  });

  it('lets an anonymous visitor find the dataset by a column name and read every tab', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${baseUrl}/datasets`);
    await page.getByLabel('Search titles, problems and column names').fill('exam_date');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => page.getByTestId('catalog-count').textContent())
      .toBe('1 dataset match');
    const card = page.getByTestId('card-demo-knee-xray');
    expect(await card.textContent()).toMatch(
      /Which knees.*Example Health System \(United States\).*Version 1\.0.*synthetic/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'catalog.png'), fullPage: true });
    await page
      .getByLabel('Search titles, problems and column names')
      .fill('no such column anywhere');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => page.getByTestId('catalog-empty').textContent())
      .toMatch(/No dataset matches/);
    await page.getByLabel('Search titles, problems and column names').fill('');
    await page.getByLabel('Country').selectOption('US');
    await page.getByLabel('Modality').selectOption({ label: 'X-ray radiographs (CR, DX)' });
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => page.getByTestId('catalog-count').textContent())
      .toBe('1 dataset match');
    expect(await page.getByTestId('modalities-demo-knee-xray').textContent()).toBe(
      'X-ray radiographs (CR, DX)',
    );
    await page.getByRole('link', { name: 'Knee osteoarthritis outcomes: a dataset' }).click();

    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toMatch(/^Knee osteoarthritis/);
    expect(await page.getByTestId('citation').textContent()).toBe(
      'Lovelace A. Knee outcomes (synthetic). Lantern, 2026.',
    );
    expect(await page.getByLabel(/^Version/).inputValue()).toBe('1.0');
    const tabs = page.getByRole('tab');
    expect(await tabs.allTextContents()).toEqual([
      'The problem',
      'Dataset overview',
      'Data dictionary',
      'Schematic',
      'Versions',
      'Compare',
    ]);
    // Markdown, safely: no script runs, its text shows.
    const panel = page.getByRole('tabpanel');
    expect(await panel.locator('strong').textContent()).toBe('wear out');
    expect(await panel.locator('script').count()).toBe(0);
    expect(await page.evaluate(() => 'pwned' in globalThis)).toBe(false);

    // Keyboard: one tab stop, arrows move and show.
    await page.getByRole('tab', { name: 'The problem' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { selected: true }).textContent()).toBe('Data dictionary');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Data dictionary');
    expect(await page.getByRole('tab', { name: 'The problem' }).getAttribute('tabindex')).toBe(
      '-1',
    );
    const dictionary = page.getByTestId('dictionary');
    expect(await dictionary.textContent()).toMatch(/tables\/xrays\.csv · 2 rows · 4 columns/);
    await dictionary.getByLabel('Search columns and descriptions').fill('shifted');
    await expect.poll(() => dictionary.locator('tbody tr').count()).toBe(1);
    expect(await dictionary.locator('tbody tr').textContent()).toMatch(/exam_date.*date-shift/);
    await dictionary.getByLabel('Search columns and descriptions').fill('');
    await dictionary.getByRole('button', { name: 'Column' }).first().click();
    expect(await dictionary.locator('table').first().locator('tbody th').allTextContents()).toEqual(
      ['age_at_exam', 'patient_ngsci_id PK', 'sex'],
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'dataset-dictionary.png'), fullPage: true });

    await page.getByRole('tab', { name: 'Schematic' }).click();
    const schematic = page.getByRole('img', { name: /Entity-relationship diagram of Knee/ });
    await expect
      // Loaded and decoded: an image that failed has no natural width.
      .poll(() => schematic.evaluate((img) => Number(Reflect.get(img, 'naturalWidth'))))
      .toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'dataset-schematic.png'), fullPage: true });
    await page.getByRole('tab', { name: 'Versions' }).click();
    await expect
      .poll(() => page.getByTestId('versions').textContent())
      .toMatch(/Version 1\.0.*First release\..*Table patients added/);
    // Nothing offers the data.
    expect(await page.locator('a[download], a[href*=".csv"]').count()).toBe(0);
    await page.close();
  });

  it('lets the curator publish 1.1 with more rows, and the compare view says 1 row added', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
    await signInAsCurator(page, '/datasets/demo-knee-xray');
    await page.getByRole('button', { name: 'Open a new draft' }).click();
    await expect.poll(() => page.url()).toBe(`${baseUrl}/datasets/demo-knee-xray/draft`);
    await upload(page, 'xrays', XRAYS_V2);
    await expect
      .poll(() => page.getByTestId('computed-version').textContent())
      .toMatch(/version 1\.1 \(minor change from 1\.0\)/);
    expect(await page.getByTestId('preview-log').textContent()).toMatch(/1 row added to xrays/);
    await page.getByLabel(/^Notes for this version/).fill('One more radiograph.');
    await page.screenshot({ path: join(SCREENSHOTS, 'catalog-draft-1.1.png'), fullPage: true });
    await page.getByRole('button', { name: 'Publish version 1.1' }).click();
    await expect.poll(() => page.url()).toBe(`${baseUrl}/datasets/demo-knee-xray/versions/1.1`);
    await page.close();

    const visitor = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await visitor.goto(`${baseUrl}/datasets/demo-knee-xray`);
    await expect.poll(() => visitor.getByLabel(/^Version/).inputValue()).toBe('1.1');
    await visitor.getByRole('tab', { name: 'Compare' }).click();
    await expect
      .poll(() => visitor.getByTestId('compare-log').textContent())
      .toMatch(/^1 row added to xrays \(2 -> 3\)/);
    await visitor.screenshot({ path: join(SCREENSHOTS, 'dataset-compare.png'), fullPage: true });
    await visitor.getByLabel(/^Version/).selectOption('1.0');
    await expect.poll(() => visitor.url()).toBe(`${baseUrl}/datasets/demo-knee-xray/versions/1.0`);
    await visitor.close();
  });

  it('takes a report of a problem on a column, which a curator closes as fixed in 1.1', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await signInAsCurator(page, '/datasets/demo-knee-xray/versions/1.1');
    await page.getByRole('button', { name: 'Report a problem' }).click();
    const form = page.getByRole('form', { name: 'Report a problem' });
    await form.getByLabel('Where').selectOption('xrays');
    await form.getByLabel('Column').selectOption('view');
    await form.getByLabel('What looks wrong').fill('LAT and AP are not explained anywhere.');
    await form.getByRole('button', { name: 'Send the report' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Thank you/);

    await page.getByRole('link', { name: 'Reported problems' }).click();
    const report = page.getByTestId('report').first();
    await expect.poll(() => report.textContent()).toMatch(/LAT and AP are not explained/);
    await report
      .getByLabel('Answer (the reporter reads it)')
      .fill('The dictionary now lists the views.');
    await report.getByLabel(/^Fixed in version/).fill('1.1');
    await report.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toMatch(/Closed as fixed in 1\.1/);
    await page.screenshot({ path: join(SCREENSHOTS, 'catalog-reports.png'), fullPage: true });

    await page.goto(`${baseUrl}/datasets/demo-knee-xray/versions/1.1`);
    await page.getByRole('tab', { name: 'Versions' }).click();
    await expect
      .poll(() => page.getByTestId('fixed-reports-1.1').textContent())
      .toMatch(/xrays\.view: LAT and AP are not explained anywhere\./);
    await page.close();
  });
  it("lets the curator edit the dataset's details, with the server's problems field by field", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await signInAsCurator(page, '/datasets/demo-knee-xray');
    await page.getByRole('link', { name: 'Edit details' }).click();
    await expect.poll(() => page.url()).toBe(`${baseUrl}/datasets/demo-knee-xray/edit`);
    const form = page.getByRole('form', { name: 'Dataset details' });
    // The same fields as a new dataset's, filled with what the catalog says now; no slug.
    await expect
      .poll(() => form.getByLabel('Title').inputValue())
      .toBe('Knee osteoarthritis outcomes: a dataset');
    await expect.poll(() => form.getByLabel('Category').inputValue()).toBe('xray-images');
    expect(await form.getByLabel(/^Partner country/).inputValue()).toBe('US');
    expect(await form.getByLabel('Author name').inputValue()).toBe('Ada Lovelace');
    expect(await form.getByLabel(/^Tags/).inputValue()).toBe('synthetic, knee');
    expect(await form.getByLabel('Open to admitted researchers').isChecked()).toBe(true);
    expect(await form.getByLabel(/^Slug/).count()).toBe(0);

    await form.getByLabel('Title').fill('Knee osteoarthritis outcomes: five years of radiographs');
    await form.getByLabel(/^Partner country/).fill('ZZ');
    await form.getByRole('button', { name: 'Save details' }).click();
    await expect
      .poll(() => page.locator('#field-partners-0-country-problem').textContent())
      .toMatch(/ISO 3166-1/);
    expect(await page.getByRole('alert').textContent()).toMatch(/Some fields need another look/);
    await page.screenshot({
      path: join(SCREENSHOTS, 'catalog-edit-details-refused.png'),
      fullPage: true,
    });

    await form.getByLabel(/^Partner country/).fill('CA');
    await form.getByRole('button', { name: 'Add an author' }).click();
    await form.getByLabel('Author name').nth(1).fill('Grace Hopper');
    await form.getByLabel('By approval').check();
    await form.getByLabel(/^Tags/).fill('synthetic, knee, radiographs');
    // Keyboard: Enter in a field submits the form.
    await form.getByLabel(/^Tags/).press('Enter');
    await expect.poll(() => page.url()).toBe(`${baseUrl}/datasets/demo-knee-xray`);
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toMatch(/^Knee osteoarthritis outcomes: five years of radiographs/);
    expect(await page.getByTestId('access-tier').textContent()).toMatch(/^By approval/);
    expect(await page.locator('.facts').textContent()).toMatch(
      /Example Health System \(Canada\).*Ada Lovelace, Grace Hopper/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'catalog-edited.png'), fullPage: true });
    await page.close();
  });

  it('lets the curator retire 1.0 after a confirmation that it stays readable and citable', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const confirmations: string[] = [];
    let accept = false;
    page.on('dialog', (dialog) => {
      confirmations.push(dialog.message());
      void (accept ? dialog.accept() : dialog.dismiss());
    });
    await signInAsCurator(page, '/datasets/demo-knee-xray');
    await page.getByRole('tab', { name: 'Versions' }).click();
    const retire = page.getByRole('button', { name: 'Retire version 1.0' });
    // Declined: nothing changes.
    await retire.click();
    expect(confirmations).toHaveLength(1);
    expect(confirmations[0]).toMatch(/Retire version 1\.0 .*stays readable and citable/);
    expect(await page.getByTestId('versions').locator('.badge.retired').count()).toBe(0);

    // By keyboard this time, and accepted.
    accept = true;
    await retire.focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() =>
        page
          .getByTestId('versions')
          .locator('li', { has: page.getByRole('link', { name: 'Version 1.0' }) })
          .first()
          .textContent(),
      )
      .toMatch(/Version 1\.0 retired.*retired/);
    expect(confirmations).toHaveLength(2);
    expect(await retire.count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Retire version 1.1' }).count()).toBe(1);
    expect(
      await page
        .getByLabel(/^Version/)
        .locator('option')
        .allTextContents(),
    ).toEqual(['1.1 (latest)', '1.0 (retired)']);
    await page.screenshot({ path: join(SCREENSHOTS, 'dataset-retired.png'), fullPage: true });
    await page.close();

    // Still readable (and citable) by anyone, marked as retired.
    const visitor = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await visitor.goto(`${baseUrl}/datasets/demo-knee-xray/versions/1.0`);
    await expect
      .poll(() => visitor.getByTestId('retired').textContent())
      .toMatch(/Version 1\.0 is retired: it stays readable/);
    expect(await visitor.getByTestId('citation').textContent()).toBe(
      'Lovelace A. Knee outcomes (synthetic). Lantern, 2026.',
    );
    expect(await visitor.getByRole('button', { name: /^Retire/ }).count()).toBe(0);
    await visitor.close();
  });

  it('lets an admin add a category, which the filters and the new-dataset form then offer', async () => {
    const page = await adminContext.newPage();
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(`${baseUrl}/datasets`);
    // Keyboard: the section opens from its summary.
    await page.getByText('Add a category (admins)').focus();
    await page.keyboard.press('Enter');
    const form = page.getByRole('form', { name: 'Add a category' });
    await form.getByLabel(/^Category slug/).fill('MRI Images');
    await form.getByLabel('Category title').fill('MRI images');
    await form.getByRole('button', { name: 'Add the category' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/slug/);
    await form.getByLabel(/^Category slug/).fill('mri-images');
    await form
      .getByLabel('Category description')
      .fill('Magnetic resonance images, as DICOM series.');
    await form.getByRole('button', { name: 'Add the category' }).click();
    await expect
      .poll(() => page.getByTestId('category-added').textContent())
      .toBe('Category MRI images added.');
    await expect
      .poll(() =>
        page.getByRole('search').getByLabel('Category').locator('option').allTextContents(),
      )
      .toContain('MRI images');
    await page.screenshot({
      path: join(SCREENSHOTS, 'catalog-category-added.png'),
      fullPage: true,
    });
    await page.close();

    const curator = await browser.newPage();
    await signInAsCurator(curator, '/datasets/new');
    const select = curator.getByRole('form', { name: 'New dataset' }).getByLabel('Category');
    await expect.poll(() => select.locator('option').allTextContents()).toContain('MRI images');
    // A curator is not offered the admins' section.
    await curator.goto(`${baseUrl}/datasets`);
    await expect.poll(() => curator.getByTestId('catalog-count').count()).toBe(1);
    expect(await curator.getByText('Add a category (admins)').count()).toBe(0);
    await curator.close();
  });
});
