import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopInstancesOf } from './instances.js';
import { admitPerson, CSRF, expectOk, PEOPLE, setUpAdmin } from './people.js';
import { startThrowawaySlurm, type ThrowawaySlurm } from './slurm.js';
import { launchChromium, pageOf, SCREENSHOTS, startLantern } from './support.js';

// The server's limit on concurrent starts as the project page words it, in Debian's Chromium on
// the built product (`lantern start`) with the Slurm backend on a real single-node Slurm, and
// LANTERN_MAX_CONCURRENT_STARTS=1 (the least the configuration takes: 0 is refused). A plain
// batch job fills the node, so a colleague's instance (in her own project) waits in Slurm's queue:
// the server is starting one instance, as on a busy cluster, for as long as the test needs. Mary's
// launch is then refused 429 `too_many_starts`, and the page says the server is busy (not that
// she has a quota), with its Retry-After counted down on a retry button; once the colleague's
// start is stopped and the wait has passed, the button, reached with Tab and pressed with Enter,
// launches.
const OWNER = PEOPLE.owner;
const COLLEAGUE = PEOPLE.colleague;
/** Starts and stops on Slurm take a scheduler's pass or two: wait generously. */
const SETTLE = { timeout: 60_000, interval: 250 };

let slurm: ThrowawaySlurm;
let dataDir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;
let browser: Browser;
let admin: BrowserContext;
let owner: BrowserContext;
let colleague: BrowserContext;
let ownerProject = '';
let colleagueProject = '';

/** Creates a project of `person`'s, without datasets (a notebook needs none to start). */
async function createProject(person: BrowserContext, title: string): Promise<string> {
  const created = await expectOk(
    person.request.post(`${baseUrl}/api/v1/projects`, {
      headers: CSRF,
      data: { title, purpose: 'Whether the morphology of a resting ECG predicts arrest.' },
    }),
  );
  return ((await created.json()) as { id: string }).id;
}

/** The state of `id` as its launcher reads it. */
async function stateOf(person: BrowserContext, id: string): Promise<string> {
  const res = await person.request.get(`${baseUrl}/api/v1/instances/${id}`);
  return ((await res.json()) as { state: string }).state;
}

/** The data-testid of the element that has the keyboard's focus (the page's own script). */
const focused = (page: Page): Promise<unknown> =>
  page.evaluate('document.activeElement?.getAttribute("data-testid") ?? null');

beforeAll(async () => {
  slurm = await startThrowawaySlurm();
  // The whole node for an hour: every instance's job waits in the queue (Resources).
  const filler = (
    await slurm.command('sbatch', [
      '--parsable',
      '--exclusive',
      '--job-name=busy-cluster',
      '--output=/dev/null',
      '--wrap=sleep 3600',
    ])
  ).trim();
  const deadline = Date.now() + SETTLE.timeout;
  while ((await slurm.command('squeue', ['-h', '-j', filler, '-o', '%T'])).trim() !== 'RUNNING') {
    if (Date.now() > deadline) {
      throw new Error(`the job ${filler} that fills the node never ran`);
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE.interval));
  }
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-busy-'));
  await chmod(dataDir, 0o711);
  const server = await startLantern(dataDir, {
    LANTERN_COMPUTE_BACKEND: 'slurm',
    LANTERN_SLURM_CONF: slurm.slurmConf,
    LANTERN_SLURM_INSTANCES_DIR: join(slurm.dir, 'instances'),
    LANTERN_MAX_CONCURRENT_STARTS: '1',
    LANTERN_INSTANCE_START_WAIT_MS: '0',
  });
  baseUrl = server.url;
  stopServer = server.stop;
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  admin = await setUpAdmin(browser, baseUrl, server.output());
  const admit = (person: typeof OWNER) =>
    admitPerson({ browser, baseUrl, admin, person, roles: ['researcher'], acceptTerms: true });
  owner = await admit(OWNER);
  colleague = await admit(COLLEAGUE);
  ownerProject = await createProject(owner, 'Arrest from resting ECGs');
  colleagueProject = await createProject(colleague, 'ECG waveforms at sea');
}, 180_000);

afterAll(async () => {
  await stopInstancesOf(owner, baseUrl, ownerProject, SETTLE);
  await stopInstancesOf(colleague, baseUrl, colleagueProject, SETTLE);
  await owner?.close();
  await colleague?.close();
  await admin?.close();
  await browser?.close();
  await stopServer?.();
  await slurm?.stop();
  if (dataDir !== undefined) {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

describe('the launch while the server is busy starting others', () => {
  it('says the server is busy with its Retry-After, and the retry launches from the keyboard once it may', async () => {
    // The colleague's instance waits for the node: one start under way, the most allowed.
    const waiting = await expectOk(
      colleague.request.post(`${baseUrl}/api/v1/projects/${colleagueProject}/instances`, {
        headers: CSRF,
        data: { type: 'cpu.xsmall', datasets: [] },
      }),
    );
    const other = (await waiting.json()) as { id: string; state: string };
    expect(['requested', 'starting']).toContain(other.state);

    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/projects/${ownerProject}`);
    const form = page.getByRole('form', { name: 'Launch an instance' });
    await form.getByRole('button', { name: 'Launch the instance' }).focus();
    await page.keyboard.press('Enter');

    const message = page.getByTestId('instances-message');
    await expect
      .poll(() => message.textContent())
      .toMatch(
        /^The server is busy starting other instances: one instance is starting now, the most this server starts at once; try again in \d+ seconds\. Try the launch again in \d+ s$/,
      );
    expect(await message.getAttribute('role')).toBe('alert');
    // The wait is the server's jittered Retry-After (5 to 15 s), counted down on the button.
    const said = Number(
      /try again in (\d+) seconds/.exec((await message.textContent()) ?? '')?.[1],
    );
    expect(said).toBeGreaterThanOrEqual(5);
    expect(said).toBeLessThanOrEqual(15);
    const retry = page.getByTestId('instances-retry');
    expect(await retry.isDisabled()).toBe(true);
    expect(Number(/in (\d+) s$/.exec((await retry.textContent()) ?? '')?.[1])).toBeLessThanOrEqual(
      said,
    );
    expect(await page.getByTestId('instances-empty').count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'instances-busy.png'), fullPage: true });

    // The colleague's start stops; once the Retry-After has passed the button may be used.
    await expectOk(
      colleague.request.post(`${baseUrl}/api/v1/instances/${other.id}/stop`, { headers: CSRF }),
    );
    await expect.poll(() => stateOf(colleague, other.id), SETTLE).toBe('stopped');
    await expect.poll(() => retry.isEnabled(), { timeout: 30_000, interval: 250 }).toBe(true);
    expect(await retry.textContent()).toBe('Try the launch again');

    // From the launch button, back through the page with Shift+Tab to the retry, then Enter.
    await form.getByRole('button', { name: 'Launch the instance' }).focus();
    for (let presses = 0; presses < 30 && (await focused(page)) !== 'instances-retry'; presses++) {
      await page.keyboard.press('Shift+Tab');
    }
    expect(await focused(page)).toBe('instances-retry');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => message.textContent())
      .toMatch(
        /^cpu\.xsmall is launched; it is (requested|starting), and the notebook opens once it runs\.$/,
      );
    expect(await message.getAttribute('role')).toBe('status');
    // The list is read again after the message: wait for it rather than race it.
    await expect.poll(() => page.getByTestId('instances').locator('tbody tr').count()).toBe(1);
    await page.close();
  }, 240_000);
});
