import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyDataset } from './datasets.js';
import { startForInstances, stopInstancesOf, type InstancesSetting } from './instances.js';
import { admitPerson, CSRF, expectOk, PEOPLE } from './people.js';
import { pageOf, SCREENSHOTS } from './support.js';

// The project page's Instances section in Debian's Chromium, on the built product (`lantern
// start`, the local backend: Jupyter from Debian in a bubblewrap sandbox): the empty state, the
// launch form (the catalogue with the free type marked, the project's dataset ticked to mount), a
// real launch seen from requested to running, the notebook opened through the proxy, the free
// quota's 429 and a paid type's 403 shown as the server says them, stop (after a confirmation)
// and restart; the Spend section, empty and then with the running instance; the 429's Retry-After
// counted down on a button that launches again once it may. Screenshots are kept under
// test-results/screenshots.
const OWNER = PEOPLE.owner;
const CURATOR = PEOPLE.curator;
const OPEN = 'demo-open-ecg';
/** Instances take seconds to start (a sandbox, a Jupyter server): wait generously. */
const START = { timeout: 120_000, interval: 500 };

let setting: InstancesSetting;
let baseUrl: string;
let owner: BrowserContext;
let projectUrl = '';

/** The state words of the section's only instance. */
const stateOf = (page: Page) =>
  page.getByTestId('instances').locator('tbody tr').first().getByTestId('instance-state');

beforeAll(async () => {
  setting = await startForInstances('instances');
  ({ baseUrl } = setting);
  const { browser, admin } = setting;
  const curator = await admitPerson({
    browser,
    baseUrl,
    admin,
    person: CURATOR,
    roles: ['curator'],
    acceptTerms: false,
  });
  await publishTinyDataset(curator, baseUrl, OPEN, 'open');
  await curator.close();
  owner = await admitPerson({
    browser,
    baseUrl,
    admin,
    person: OWNER,
    roles: ['researcher'],
    acceptTerms: true,
  });
  const created = await expectOk(
    owner.request.post(`${baseUrl}/api/v1/projects`, {
      headers: CSRF,
      data: {
        title: 'Arrest from resting ECGs',
        purpose: 'Whether the morphology of a resting ECG predicts sudden cardiac arrest.',
        datasets: [{ slug: OPEN, version: '1.0' }],
      },
    }),
  );
  const { id } = (await created.json()) as { id: string };
  projectUrl = `${baseUrl}/projects/${id}`;
}, 120_000);

afterAll(async () => {
  await stopInstancesOf(owner, baseUrl, projectUrl.split('/').pop() ?? '', START);
  await owner.close();
  await setting.close();
});

describe('instances on the project page', () => {
  it('shows an empty list and a launch form with the catalogue and the dataset to mount', async () => {
    const { page } = await pageOf(owner);
    await page.goto(projectUrl);
    await expect
      .poll(() => page.getByTestId('instances-empty').textContent())
      .toMatch(/The project has no instances yet\. Launch one below/);
    const form = page.getByRole('form', { name: 'Launch an instance' });
    const type = form.getByLabel('Instance type');
    expect(await type.inputValue()).toBe('cpu.xsmall');
    const options = await type.locator('option').allTextContents();
    expect(options).toContain('Extra small CPU (free) (cpu.xsmall) — 2 vCPU, 4 GiB, free');
    expect(options).toContain('NVIDIA T4 (gpu.t4) — 4 vCPU, 16 GiB, 1 × T4 GPU, $0.53 an hour');
    expect(await form.getByRole('checkbox', { name: `Mount ${OPEN} 1.0` }).isChecked()).toBe(true);
    await expect
      .poll(() => page.getByTestId('spend-empty').textContent())
      .toBe(
        'Nothing has been spent this month. Free instances cost nothing; paid types need an admin to enable them until billing arrives.',
      );
    await page.screenshot({ path: join(SCREENSHOTS, 'instances-empty.png'), fullPage: true });
    await page.close();
  });

  it('refuses a paid type the project has not been given, saying why', async () => {
    const { page } = await pageOf(owner);
    await page.goto(projectUrl);
    const form = page.getByRole('form', { name: 'Launch an instance' });
    await form.getByLabel('Instance type').selectOption('gpu.t4');
    await form.getByRole('button', { name: 'Launch the instance' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/^Refused: gpu\.t4 is a paid type; until billing lands an admin enables paid types/);
    expect(await page.getByTestId('instances-empty').count()).toBe(1);
    await page.close();
  });

  it('launches a free instance with the dataset, shows it starting then running, and opens its notebook through the proxy', async () => {
    const { page } = await pageOf(owner);
    await page.goto(projectUrl);
    const form = page.getByRole('form', { name: 'Launch an instance' });
    await form.getByRole('button', { name: 'Launch the instance' }).click();
    await expect
      .poll(() => page.getByTestId('instances-message').textContent())
      .toMatch(/^cpu\.xsmall is launched(; it is (requested|starting)| and running)/);
    const row = page.getByTestId('instances').locator('tbody tr').first();
    expect(await row.textContent()).toMatch(
      /Extra small CPU \(free\).*you.*Mounted: demo-open-ecg 1\.0/,
    );
    await expect.poll(() => stateOf(page).textContent(), START).toBe('Running');
    expect(await row.locator('progress').count()).toBe(0);
    expect(await row.locator('time').count()).toBe(1);

    const open = row.getByRole('link', { name: 'Open the notebook of cpu.xsmall' });
    const href = await open.getAttribute('href');
    expect(href).toMatch(/^\/instances\/ins_[0-9a-f]{16}\/$/);
    expect(await open.getAttribute('target')).toBe('_blank');
    // Jupyter answers through the proxy for the member who launched it.
    const notebook = await owner.request.get(`${baseUrl}${href ?? ''}`);
    expect(notebook.status()).toBe(200);
    expect(await notebook.text()).toMatch(/jupyter/i);
    await page.screenshot({ path: join(SCREENSHOTS, 'instances-running.png'), fullPage: true });

    // A second free instance is over the quota: the 429 says why, and that it is about now.
    await form.getByRole('button', { name: 'Launch the instance' }).click();
    await expect
      .poll(() => page.getByTestId('instances-message').textContent())
      .toMatch(/^Not now: you have a free instance already \(ins_[0-9a-f]{16}, running\)/);
    expect(await page.getByTestId('instances-message').getAttribute('role')).toBe('alert');
    expect(await page.getByTestId('instances').locator('tbody tr').count()).toBe(1);
    // The 429's Retry-After (30 to 60 s for the free quota) counts down on the retry button.
    expect(await page.getByTestId('instances-retry').textContent()).toMatch(
      /^Try the launch again in \d+ s$/,
    );
    expect(await page.getByTestId('instances-retry').isDisabled()).toBe(true);

    // The spend section shows the running instance, free, with the month's chart and tables.
    await expect
      .poll(() => page.getByTestId('spend-running').textContent())
      .toMatch(
        /^Running now: 1 instance at \$0\.00 an hour \(cpu\.xsmall by Mary Seacole, \$0\.00 an hour, \$0\.00 so far\)\.$/,
      );
    expect(await page.getByTestId('spend-total').textContent()).toMatch(
      /^\$0\.00 this month \(UTC\), for \d+ s of instances\. Free instances cost nothing/,
    );
    const chart = page.getByRole('img', { name: /^Spend per day from \d{4}-\d{2}-01 to / });
    expect(await chart.count()).toBe(1);
    expect(await page.getByTestId('spend-members').locator('tbody th').allTextContents()).toEqual([
      'Mary Seacole',
    ]);
    expect(await page.getByTestId('spend-types').locator('tbody th').allTextContents()).toEqual([
      'cpu.xsmall (free)',
    ]);
    expect(await page.getByTestId('spend-days').locator('caption').textContent()).toBe(
      'Spend per day (UTC)',
    );
    await page.close();
  }, 300_000);

  it('stops the instance after a confirmation, and restarts it', async () => {
    const { page, asked } = await pageOf(owner);
    await page.goto(projectUrl);
    await expect.poll(() => stateOf(page).textContent()).toBe('Running');
    await page.getByRole('button', { name: 'Stop cpu.xsmall' }).click();
    expect(asked[0]).toMatch(
      /^Stop cpu\.xsmall\? .*the files in your home and the project folder stay/,
    );
    await expect.poll(() => stateOf(page).textContent(), START).toBe('Stopped');
    expect(await page.getByRole('link', { name: 'Open the notebook of cpu.xsmall' }).count()).toBe(
      0,
    );

    await page.getByRole('button', { name: 'Restart cpu.xsmall' }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('instances-message').textContent())
      .toMatch(/^cpu\.xsmall is (starting|running) again\.$/);
    await expect.poll(() => stateOf(page).textContent(), START).toBe('Running');
    await page.getByRole('button', { name: 'Stop cpu.xsmall' }).click();
    await expect.poll(() => stateOf(page).textContent(), START).toBe('Stopped');
    await page.screenshot({ path: join(SCREENSHOTS, 'instances-stopped.png'), fullPage: true });
    await page.close();
  }, 300_000);

  it('offers the refused launch again once its Retry-After has passed, and it launches', async () => {
    const { page } = await pageOf(owner);
    await page.goto(projectUrl);
    await page.getByRole('button', { name: 'Restart cpu.xsmall' }).click();
    await expect.poll(() => stateOf(page).textContent(), START).toBe('Running');
    const form = page.getByRole('form', { name: 'Launch an instance' });
    await form.getByRole('button', { name: 'Launch the instance' }).click();
    const retry = page.getByTestId('instances-retry');
    await expect.poll(() => retry.textContent()).toMatch(/^Try the launch again in \d+ s$/);
    expect(await retry.isDisabled()).toBe(true);

    // Once the first stops (through the API, so that the page keeps its refusal), the quota is
    // free; the button waits out the server's Retry-After.
    const first = (
      await page.getByTestId('instances').locator('tbody tr').first().getAttribute('data-testid')
    )?.replace(/^instance-/, '');
    await expectOk(
      owner.request.post(`${baseUrl}/api/v1/instances/${first ?? ''}/stop`, { headers: CSRF }),
    );
    await expect
      .poll(async () => {
        const res = await owner.request.get(`${baseUrl}/api/v1/instances/${first ?? ''}`);
        return ((await res.json()) as { state: string }).state;
      }, START)
      .toBe('stopped');
    await expect.poll(() => retry.isEnabled(), { timeout: 90_000, interval: 500 }).toBe(true);
    expect(await retry.textContent()).toBe('Try the launch again');
    await retry.click();
    await expect
      .poll(() => page.getByTestId('instances-message').textContent())
      .toMatch(/^cpu\.xsmall is launched(; it is (requested|starting)| and running)/);
    expect(await page.getByTestId('instances').locator('tbody tr').count()).toBe(2);
    await expect.poll(() => stateOf(page).textContent(), START).toBe('Running');
    await page.getByRole('button', { name: 'Stop cpu.xsmall' }).click();
    await expect.poll(() => stateOf(page).textContent(), START).toBe('Stopped');
    await page.close();
  }, 300_000);
});
