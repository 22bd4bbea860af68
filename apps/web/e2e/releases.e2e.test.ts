import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForInstances, stopInstancesOf, type InstancesSetting } from './instances.js';
import { runInNotebook } from './notebook.js';
import { admitPerson, CSRF, expectOk, PEOPLE, type Applicant } from './people.js';
import { pageOf, SCREENSHOTS } from './support.js';

// The airlock in Debian's Chromium, on the built product (`lantern start`, the local backend:
// Jupyter in a bubblewrap sandbox). A researcher launches an instance from the project page,
// writes a CSV in a notebook cell and asks for its release with `ngsci.request_release`; the
// project page lists the request and its page shows the file, its digest, checks and preview; a
// reviewer (signed in with a second factor) finds it in the Airlock queue, is refused without a
// reason, and approves it with one; the researcher downloads the file and its bytes are the ones
// the cell wrote. A second request, of row-level data, is flagged by the checks and rejected, and
// the researcher reads the reason; a third is withdrawn after a confirmation. A reviewer who asks
// for a release from her own project is told another reviewer decides it; 50 more make her
// project's list read its second page on "Load more". Screenshots are kept under
// test-results/screenshots.
const { owner: OWNER, reviewer: REVIEWER } = PEOPLE;
/** Instances and kernels take seconds to start (a sandbox, a Jupyter server): wait generously. */
const START = { timeout: 120_000, interval: 500 };
const RESULTS = 'group,patients,mean_age\nno arrest,412,61.2\narrest,37,66.8\n';
/** A figure as researchers make them: matplotlib (Debian's, in the instance), 640 × 480 pixels. */
const FIGURE = [
  "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt",
  'plt.figure(figsize=(6.4, 4.8), dpi=100); plt.plot([1, 2, 3], [61.2, 66.8, 64.0])',
  "plt.savefig('/home/ngsci/project/figure.png')",
].join('\n');

let setting: InstancesSetting;
let baseUrl: string;
let owner: BrowserContext;
let reviewer: BrowserContext;
let projectId = '';
/** A project of the reviewer's own, where she asks for a release herself. */
let reviewerProjectId = '';
let reviewerInstanceId = '';
let instanceId = '';
/** The request the reviewer approves, which the researcher then downloads. */
let approved = '';

/**
 * Writes `files` (name to content) into /home/ngsci/project from a notebook cell of `instance`, as
 * `person`, with any file `made` by code of its own in the same cell, and asks for their release
 * with `purpose`; returns the request's id from what `ngsci` answered.
 */
async function requestFromNotebook(
  person: BrowserContext,
  instance: string,
  files: Record<string, string>,
  purpose: string,
  made: { name: string; code: string } | null = null,
): Promise<string> {
  const writes = Object.entries(files)
    .map(
      ([name, text]) => `open('/home/ngsci/project/${name}', 'w').write(${JSON.stringify(text)})`,
    )
    .concat(made === null ? [] : [made.code])
    .join('\n');
  const names = [...Object.keys(files), ...(made === null ? [] : [made.name])];
  const paths = JSON.stringify(names.map((name) => `/home/ngsci/project/${name}`));
  const printed = await runInNotebook(
    person,
    baseUrl,
    instance,
    `${writes}\nimport ngsci\nresult, said = ngsci.request_release(${paths}, purpose=${JSON.stringify(purpose)})\nprint(result.name, said)`,
  );
  const id = /^SUCCESS release request (rel_[0-9a-f]{16}) is waiting for review$/mu.exec(
    printed,
  )?.[1];
  expect(id, printed).toBeDefined();
  return id ?? '';
}

/** Creates a project of `person`'s (no datasets: a notebook needs none) and returns its id. */
async function createProject(person: BrowserContext, title: string): Promise<string> {
  const created = await expectOk(
    person.request.post(`${baseUrl}/api/v1/projects`, {
      headers: CSRF,
      data: {
        title,
        purpose: 'Whether the morphology of a resting ECG predicts sudden cardiac arrest.',
      },
    }),
  );
  return ((await created.json()) as { id: string }).id;
}

/** The row of request `id` in the table `testId` of `page`. */
const rowOf = (page: Page, testId: string, id: string) =>
  page.getByTestId(testId).getByTestId(`release-${id}`);

beforeAll(async () => {
  setting = await startForInstances('releases');
  ({ baseUrl } = setting);
  const admit = (person: Applicant, roles: string[]) =>
    admitPerson({ ...setting, person, roles, acceptTerms: true });
  owner = await admit(OWNER, ['researcher']);
  reviewer = await admit(REVIEWER, ['reviewer']);
  projectId = await createProject(owner, 'Arrest from resting ECGs');
}, 120_000);

afterAll(async () => {
  await stopInstancesOf(owner, baseUrl, projectId, START);
  await stopInstancesOf(reviewer, baseUrl, reviewerProjectId, START);
  await owner.close();
  await reviewer.close();
  await setting.close();
});

describe('the airlock', () => {
  it('says on the project page how to ask for a release from a notebook', async () => {
    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/projects/${projectId}`);
    const empty = page.getByTestId('releases-empty');
    await expect.poll(() => empty.textContent()).toMatch(/no release requests yet/);
    expect(await empty.locator('code').textContent()).toBe(
      "import ngsci\nngsci.request_release(['/home/ngsci/project/results.csv'], purpose='…')",
    );
    // Researchers have no airlock queue.
    expect(await page.getByRole('link', { name: 'Airlock' }).count()).toBe(0);
    await page.close();
  });

  it('lists a request made with ngsci.request_release in a notebook of the project', async () => {
    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/projects/${projectId}`);
    await page
      .getByRole('form', { name: 'Launch an instance' })
      .getByRole('button', { name: 'Launch the instance' })
      .click();
    const instance = page.getByTestId('instances').locator('tbody tr').first();
    await expect
      .poll(() => instance.getByTestId('instance-state').textContent(), START)
      .toBe('Running');
    instanceId = ((await instance.getAttribute('data-testid')) ?? '').replace(/^instance-/u, '');

    const id = await requestFromNotebook(
      owner,
      instanceId,
      { 'results.csv': RESULTS },
      'Table 2 of the paper: arrests by group.',
    );
    approved = id;
    // Back on the project's tab, the list is read again.
    await page.reload();
    const row = rowOf(page, 'releases', id);
    await expect
      .poll(() => row.getByTestId('release-state').textContent())
      .toBe('Waiting for review');
    expect(await row.getByTestId('release-files').textContent()).toBe(
      `1 file, ${RESULTS.length} B`,
    );
    expect(await row.getByTestId('release-flagged').textContent()).toBe('none flagged');
    expect(await row.textContent()).toMatch(
      /Table 2 of the paper: arrests by group\..*Mary Seacole/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'releases-project.png'), fullPage: true });

    // Its page: the purpose, the file with its digest and a preview, nothing to download yet.
    await row.getByRole('link', { name: 'Table 2 of the paper: arrests by group.' }).click();
    await expect
      .poll(() => page.getByTestId('release-purpose').textContent())
      .toBe('Table 2 of the paper: arrests by group.');
    expect(new URL(page.url()).pathname).toBe(`/releases/${id}`);
    const file = page.getByTestId('file-results.csv');
    const sha256 = createHash('sha256').update(RESULTS).digest('hex');
    expect(await file.getByTestId('file-sha').getAttribute('title')).toBe(sha256);
    expect(await file.getByTestId('file-sha').textContent()).toBe(`${sha256.slice(0, 12)}…`);
    await owner.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
    await file.getByRole('button', { name: 'Copy the SHA-256 of results.csv' }).click();
    await expect.poll(() => file.getByRole('status').first().textContent()).toBe('Copied.');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(sha256);
    await expect.poll(() => file.getByTestId('preview-rows').textContent()).toBe('All 2 rows.');
    expect(await file.locator('thead th').allTextContents()).toEqual([
      'group',
      'patients',
      'mean_age',
    ]);
    expect(await file.getByTestId('checks-none').count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Download results.csv' }).count()).toBe(0);
    expect(await page.getByRole('form', { name: 'Decide the release' }).count()).toBe(0);
    expect(await page.getByTestId('release-decision').textContent()).toBe(
      'Waiting for a reviewer.',
    );
    await page.close();
  }, 300_000);

  it('lets a reviewer approve it from the airlock queue, with a reason', async () => {
    const id = approved;
    const { page, asked } = await pageOf(reviewer);
    await page.goto(`${baseUrl}/`);
    await page.getByRole('link', { name: 'Airlock' }).click();
    const row = rowOf(page, 'airlock-queue', id);
    await expect.poll(() => row.textContent()).toMatch(/Arrest from resting ECGs/);
    await row.getByRole('link').click();
    const form = page.getByRole('form', { name: 'Decide the release' });
    await expect.poll(() => form.count()).toBe(1);
    await expect.poll(() => page.getByTestId('preview-table').count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'releases-review.png'), fullPage: true });

    // No reason, no decision: said under the field, nothing asked or sent.
    await form.getByRole('button', { name: 'Approve' }).click();
    expect(await form.getByRole('alert').textContent()).toBe(
      'Give a reason: the requester and the project read it.',
    );
    expect(asked).toEqual([]);

    // With the keyboard: the reason, then Tab to Approve and Enter; a confirmation first.
    await form.getByLabel(/^Reason/).fill('Aggregates of 37 and more: nothing identifies anyone.');
    await form.getByLabel(/^Reason/).focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('release-message').textContent())
      .toBe('Approved; the requester is emailed.');
    expect(asked[0]).toMatch(/^Approve the release of 1 file from "Arrest from resting ECGs"\?/);
    expect(await page.getByTestId('release-state').textContent()).toBe('Approved');
    expect(await page.getByTestId('release-decision').textContent()).toMatch(
      /^Approved by Rita Levi-Montalcini on .*: “?Aggregates of 37 and more: nothing identifies anyone\.”?$/,
    );
    expect(await form.count()).toBe(0);
    // Out of the queue, and among the approved ones.
    await page.goto(`${baseUrl}/airlock`);
    await expect
      .poll(() => page.getByTestId('airlock-empty').textContent())
      .toBe('No request is waiting.');
    await page.getByRole('button', { name: 'Approved' }).click();
    await expect
      .poll(() => rowOf(page, 'airlock-queue', id).getByTestId('release-state').textContent())
      .toBe('Approved');
    expect(await page.getByRole('button', { name: 'Approved' }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    await page.close();
  });

  it('lets the researcher download the approved file, the bytes the cell wrote', async () => {
    const id = approved;
    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/releases/${id}`);
    const download = page.getByRole('link', { name: 'Download results.csv' });
    await expect.poll(() => download.count()).toBe(1);
    const [saved] = await Promise.all([page.waitForEvent('download'), download.click()]);
    expect(saved.suggestedFilename()).toBe('results.csv');
    expect((await readFile(await saved.path())).toString('utf8')).toBe(RESULTS);
    expect(await page.getByRole('button', { name: 'Withdraw the request' }).count()).toBe(0);
    await page.close();
  });

  it('shows the reviewer the checks on row-level data, and the researcher the rejection and its reason', async () => {
    const rows = `patient_ngsci_id,risk\n${Array.from({ length: 250 }, (_, i) => `p${i},0.${i}`).join('\n')}\n`;
    const id = await requestFromNotebook(
      owner,
      instanceId,
      { 'risks.csv': rows },
      'Risk scores for each patient.',
    );
    const { page: rita, asked } = await pageOf(reviewer);
    await rita.goto(`${baseUrl}/releases/${id}`);
    const warnings = rita.getByRole('list', { name: 'Warnings about risks.csv' });
    await expect.poll(() => warnings.textContent()).toMatch(/Row-level data: .*patient_ngsci_id/);
    // The first 200 rows under a header that stays in view as they scroll.
    expect(await rita.getByTestId('preview-rows').textContent()).toBe('Showing 200 of 250 rows.');
    expect(await rita.getByTestId('preview-table').locator('tbody tr').count()).toBe(200);
    expect(
      await rita.evaluate(
        "getComputedStyle(document.querySelector('[data-testid=preview-table] thead th')).position",
      ),
    ).toBe('sticky');
    const form = rita.getByRole('form', { name: 'Decide the release' });
    await form.getByLabel(/^Reason/).fill('One row per patient: release aggregates instead.');
    await form.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => rita.getByTestId('release-state').textContent()).toBe('Rejected');
    expect(asked[0]).toMatch(/^Reject the release of 1 file .*Nothing leaves/);
    await rita.close();

    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/projects/${projectId}`);
    const row = rowOf(page, 'releases', id);
    await expect.poll(() => row.getByTestId('release-state').textContent()).toBe('Rejected');
    expect(await row.getByTestId('release-flagged').textContent()).toBe('1 flagged');
    await row.getByRole('link').click();
    await expect
      .poll(() => page.getByTestId('release-decision').textContent())
      .toMatch(
        /^Rejected by Rita Levi-Montalcini on .*One row per patient: release aggregates instead\./,
      );
    expect(await page.getByRole('link', { name: 'Download risks.csv' }).count()).toBe(0);
    // The content route refuses it too: nothing rejected leaves.
    const file = await owner.request.get(`${baseUrl}/api/v1/releases/${id}`);
    const { files } = (await file.json()) as { files: { id: string }[] };
    const refused = await owner.request.get(
      `${baseUrl}/api/v1/releases/${id}/files/${files[0]?.id ?? ''}/content`,
    );
    expect(refused.status()).toBeGreaterThanOrEqual(400);
    await page.screenshot({ path: join(SCREENSHOTS, 'releases-rejected.png'), fullPage: true });
    await page.close();
  }, 300_000);

  it('lets the requester withdraw a waiting request after a confirmation', async () => {
    const id = await requestFromNotebook(
      owner,
      instanceId,
      { 'notes.txt': 'Draft figures.\n' },
      'Draft notes and a figure.',
      { name: 'figure.png', code: FIGURE },
    );
    const { page, asked } = await pageOf(owner);
    await page.goto(`${baseUrl}/releases/${id}`);
    await expect
      .poll(() => page.getByTestId('preview-text').textContent())
      .toBe('Draft figures.\n');
    // The figure is shown from the image route: the browser decoded it.
    const figure = page.getByTestId('file-figure.png').getByRole('img', {
      name: 'Preview of figure.png',
    });
    await expect
      .poll(() =>
        figure.evaluate((img) =>
          Reflect.get(img, 'complete') === true ? Number(Reflect.get(img, 'naturalWidth')) : -1,
        ),
      )
      .toBe(640);
    await page.screenshot({ path: join(SCREENSHOTS, 'releases-figure.png'), fullPage: true });
    await page.getByRole('button', { name: 'Withdraw the request' }).click();
    await expect.poll(() => page.getByTestId('release-state').textContent()).toBe('Withdrawn');
    expect(asked[0]).toMatch(/^Withdraw this request to release 2 files\?/);
    expect(await page.getByTestId('release-message').textContent()).toBe(
      'The request is withdrawn.',
    );
    expect(await page.getByRole('button', { name: 'Withdraw the request' }).count()).toBe(0);
    await page.close();
  }, 300_000);

  it('tells a reviewer who asked for a release herself that another reviewer decides it', async () => {
    reviewerProjectId = await createProject(reviewer, 'Reviewing the reviewers');
    const launched = await expectOk(
      reviewer.request.post(`${baseUrl}/api/v1/projects/${reviewerProjectId}/instances`, {
        headers: CSRF,
        data: { type: 'cpu.xsmall', datasets: [] },
      }),
    );
    reviewerInstanceId = ((await launched.json()) as { id: string }).id;
    await expect
      .poll(async () => {
        const read = await reviewer.request.get(
          `${baseUrl}/api/v1/instances/${reviewerInstanceId}`,
        );
        return ((await read.json()) as { state: string }).state;
      }, START)
      .toBe('running');
    const id = await requestFromNotebook(
      reviewer,
      reviewerInstanceId,
      { 'agreement.txt': 'Kappa 0.81 between reviewers.\n' },
      'Agreement between reviewers.',
    );
    const { page } = await pageOf(reviewer);
    await page.goto(`${baseUrl}/airlock`);
    await rowOf(page, 'airlock-queue', id).getByRole('link').click();
    await expect
      .poll(() => page.getByTestId('no-decision').textContent())
      .toBe('You made this request: another reviewer decides it.');
    expect(await page.getByRole('form', { name: 'Decide the release' }).count()).toBe(0);
    // She may still withdraw it: it is hers.
    expect(await page.getByRole('button', { name: 'Withdraw the request' }).count()).toBe(1);
    await page.close();
  }, 300_000);

  it('lists a project\'s requests 50 at a time, "Load more" reading the next page', async () => {
    // 50 more requests from the reviewer's notebook: 51 in her project.
    const printed = await runInNotebook(
      reviewer,
      baseUrl,
      reviewerInstanceId,
      "import ngsci\nmade = [ngsci.request_release(['/home/ngsci/project/agreement.txt'], purpose=f'Agreement, copy {i}.')[0].name for i in range(50)]\nprint(made.count('SUCCESS'))",
    );
    expect(printed).toBe('50\n');
    const { page } = await pageOf(reviewer);
    await page.goto(`${baseUrl}/projects/${reviewerProjectId}`);
    const purposes = page.getByTestId('releases').locator('tbody th');
    await expect.poll(() => purposes.count()).toBe(50);
    // Newest first.
    expect(await purposes.first().textContent()).toBe('Agreement, copy 49.');
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => purposes.count()).toBe(51);
    expect(await purposes.last().textContent()).toBe('Agreement between reviewers.');
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    await page.close();
  }, 300_000);

  it('answers a release that is not there as the server says it', async () => {
    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/releases/rel_0000000000000000`);
    const problem = page.getByTestId('release-problem');
    await expect
      .poll(() => problem.textContent())
      .toBe('There is no release request rel_0000000000000000.');
    expect(await problem.getAttribute('role')).toBe('alert');
    await page.close();
  });
});
