import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopInstancesOf } from './instances.js';
import { runInNotebook } from './notebook.js';
import { admitPerson, CSRF, expectOk, PEOPLE, setUpAdmin } from './people.js';
import { launchChromium, pageOf, SCREENSHOTS, startLantern } from './support.js';

const OWNER = PEOPLE.owner;
const START = { timeout: 120_000, interval: 500 };

let dataDir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;
let browser: Browser;
let admin: BrowserContext;
let owner: BrowserContext;
let projectId = '';
let instanceId = '';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-releases-'));
  await chmod(dataDir, 0o711);
  const server = await startLantern(dataDir);
  baseUrl = server.url;
  stopServer = server.stop;
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  admin = await setUpAdmin(browser, baseUrl, server.output());
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
      },
    }),
  );
  projectId = ((await created.json()) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await stopInstancesOf(owner, baseUrl, projectId, START);
  await owner.close();
  await admin.close();
  await browser.close();
  await stopServer();
  await rm(dataDir, { recursive: true, force: true });
});

describe('releases', () => {
  it('runs a cell', async () => {
    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/projects/${projectId}`);
    await page
      .getByRole('form', { name: 'Launch an instance' })
      .getByRole('button', { name: 'Launch the instance' })
      .click();
    const row = page.getByTestId('instances').locator('tbody tr').first();
    await expect.poll(() => row.getByTestId('instance-state').textContent(), START).toBe('Running');
    instanceId = ((await row.getAttribute('data-testid')) ?? '').replace(/^instance-/u, '');
    const printed = await runInNotebook(
      owner,
      baseUrl,
      instanceId,
      "open('/home/ngsci/project/results.csv', 'w').write('group,mean_age\\na,61.2\\n')\nprint(open('/home/ngsci/project/results.csv').read())",
    );
    expect(printed).toBe('group,mean_age\na,61.2\n\n');
    await page.close();
  }, 300_000);
});
