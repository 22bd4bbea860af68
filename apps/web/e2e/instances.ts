import type { BrowserContext } from 'playwright-core';
import { CSRF } from './people.js';

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
