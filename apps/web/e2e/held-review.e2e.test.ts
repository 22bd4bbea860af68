import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestDrafts, type IngestedDraft } from './ingest-draft.js';
import { admitCurator, signIn } from './people.js';
import { launchChromium, SCREENSHOTS, startLantern } from './support.js';

// The review of held files on the draft page, in Debian's Chromium on the built product: the
// synthetic knee radiographs are ingested into a fresh data directory before `lantern start`; the
// ones with burned-in text are held back. A curator sees each one's preview (rendered by the
// server, loaded by the browser), releases one with a note saying why, and excludes the rest at
// once; publication waits until none is open. Screenshots go to test-results/screenshots.
const SLUG = 'demo-knee-xray';
const CURATOR = {
  email: 'held-curator@hospital.example',
  password: 'curators look at every image',
  name: 'Grace Hopper',
};

let dataDir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;
let browser: Browser;
let drafts: Record<string, IngestedDraft>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-held-'));
  drafts = await ingestDrafts(dataDir, { demos: [{ slug: SLUG, scale: 0.5 }] });
  const server = await startLantern(dataDir);
  baseUrl = server.url;
  stopServer = server.stop;
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  const adminContext = await admitCurator({
    browser,
    baseUrl,
    banner: server.output(),
    curator: { ...CURATOR, researchPurpose: 'Reviewing images held back for burned-in text.' },
  });
  await adminContext.close();
}, 180_000);

afterAll(async () => {
  await browser.close();
  await stopServer();
  await rm(dataDir, { recursive: true, force: true });
});

describe('held files on the draft page', () => {
  it('shows each held radiograph, releases one with a note and excludes the rest at once', async () => {
    const ingested = drafts[SLUG] ?? { findings: [], held: 0 };
    expect(ingested.held).toBeGreaterThan(1);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('dialog', (dialog) => void dialog.accept());
    await signIn(page, baseUrl, CURATOR, `/datasets/${SLUG}/draft`);

    const held = page.getByRole('region', { name: 'Held back for review' });
    await expect
      .poll(() => held.getByTestId('held-open').textContent())
      .toBe(
        `${ingested.held} of ${ingested.held} files open: publication waits for a decision on each.`,
      );
    const rows = held.locator('tbody tr');
    expect(await rows.count()).toBe(ingested.held);
    // Every preview is a PNG the browser decoded: a picture, not a broken image.
    const previews = held.locator('img.held-preview');
    expect(await previews.count()).toBe(ingested.held);
    for (let i = 0; i < ingested.held; i += 1) {
      // Loaded lazily, as they come into view.
      await previews.nth(i).scrollIntoViewIfNeeded();
      await expect
        .poll(() =>
          previews
            .nth(i)
            .evaluate((img) =>
              Reflect.get(img, 'complete') === true ? Number(Reflect.get(img, 'naturalWidth')) : -1,
            ),
        )
        .toBeGreaterThan(16);
    }
    expect(await rows.first().textContent()).toMatch(/Burned In Annotation is YES/);
    // Publication waits, and says why.
    const publish = page.getByRole('button', { name: /^Publish version/ });
    expect(await publish.isDisabled()).toBe(true);
    expect(await page.getByTestId('publication-held-open').textContent()).toBe(
      `${ingested.held} held files without a decision block publication.`,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'held-review-open.png'), fullPage: true });

    // Release the first: a note of spaces is refused with the server's words, then a real one.
    const first = rows.first();
    const path = (await first.locator('th code').textContent()) ?? '';
    const note = first.getByLabel(`Why it can be released: ${path}`);
    await note.fill('   ');
    await first.getByRole('button', { name: `Release ${path}` }).click();
    await expect
      .poll(() => page.getByTestId('draft-message').textContent())
      .toMatch(
        /say why what it shows \(the text in the pixels, the arrays\) does not identify anyone/,
      );
    await note.fill('Only the laterality marker is burned in.');
    await note.press('Enter');
    await expect
      .poll(() => first.getByTestId('held-decision').textContent())
      .toMatch(/^Released by Grace Hopper on \S+: Only the laterality marker is burned in\.$/);
    expect(await page.getByTestId('draft-message').textContent()).toBe(`${path} released.`);

    // The rest, ticked together and excluded.
    await held.getByLabel('Tick every open file').check();
    const rest = ingested.held - 1;
    expect(await held.getByTestId('held-bulk').textContent()).toMatch(
      new RegExp(`^${rest} files? ticked:`),
    );
    await held.getByRole('button', { name: 'Exclude the ticked files' }).click();
    await expect
      .poll(() => held.getByTestId('held-open').textContent())
      .toBe(`Every held file is decided (${ingested.held}).`);
    const decisions = await held.getByTestId('held-decision').allTextContents();
    expect(decisions.filter((d) => d.startsWith('Excluded by Grace Hopper'))).toHaveLength(rest);
    await expect.poll(() => page.getByTestId('publication-held-open').count()).toBe(0);
    await expect
      .poll(() => page.getByTestId('problems').textContent())
      .toMatch(new RegExp(`Warning \\(phi\\): ${rest} held files? (is|are) excluded`));
    // Nothing held blocks any more (the PHI review's finding still does).
    expect(await page.getByTestId('problems').textContent()).not.toMatch(/held back for review/);
    await page.screenshot({ path: join(SCREENSHOTS, 'held-review-decided.png'), fullPage: true });
    await page.close();
  });
});
