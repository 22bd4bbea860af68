import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { CSRF, setUpAdmin } from './people.js';
import { launchChromium, SCREENSHOTS, startLantern } from './support.js';

/**
 * Stops every live instance of `projectId` through the API, as `person` (a member who may stop
 * them), and waits until each has stopped: what a test that failed half-way left running would
 * otherwise run on after the suite (a local sandbox outlives the server, a Slurm job its test).
 */
export async function stopInstancesOf(
  person: BrowserContext,
  baseUrl: string,
  projectId: string,
  wait: { timeout: number; interval: number },
): Promise<void> {
  if (projectId === '') {
    return;
  }
  const live = async () => {
    const listed = await person.request.get(`${baseUrl}/api/v1/projects/${projectId}/instances`);
    const { instances } = (await listed.json()) as { instances: { id: string; state: string }[] };
    return instances.filter((i) => !['stopped', 'failed'].includes(i.state));
  };
  for (const instance of await live()) {
    if (instance.state !== 'stopping') {
      await person.request.post(`${baseUrl}/api/v1/instances/${instance.id}/stop`, {
        headers: CSRF,
      });
    }
  }
  // Not expect.poll: hooks run outside any test.
  const deadline = Date.now() + wait.timeout;
  while ((await live()).length > 0) {
    if (Date.now() > deadline) {
      throw new Error(`the instances of ${projectId} did not stop`);
    }
    await new Promise((resolve) => setTimeout(resolve, wait.interval));
  }
}

/** What a test of instances runs on: the server, Chromium and the first admin, signed in. */
export interface InstancesSetting {
  baseUrl: string;
  browser: Browser;
  admin: BrowserContext;
  /** Closes the admin's context and Chromium, stops the server and removes its data. */
  close: () => Promise<void>;
}

/**
 * `lantern start` (with `env` added) on a fresh data directory named after `name`, which the
 * sandbox's uid 4242 must traverse (mkdtemp makes it 0700); Chromium; the first admin set up.
 */
export async function startForInstances(
  name: string,
  env: Readonly<Record<string, string>> = {},
): Promise<InstancesSetting> {
  const dataDir = await mkdtemp(join(tmpdir(), `lantern-e2e-${name}-`));
  await chmod(dataDir, 0o711);
  const server = await startLantern(dataDir, env);
  await mkdir(SCREENSHOTS, { recursive: true });
  const browser = await launchChromium();
  const admin = await setUpAdmin(browser, server.url, server.output());
  return {
    baseUrl: server.url,
    browser,
    admin,
    close: async () => {
      await admin.close();
      await browser.close();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
