import type { BackendHandle } from '../compute/compute-backend.js';
import { instancesRepository } from '../repositories/instances/instances.repository.js';
import type { TestServer } from './test-server.js';

/**
 * Stops, through the backend itself, every instance the database still calls live: sandboxes
 * outlive servers by design, so a test that failed half-way must not leave one running.
 */
export async function stopLeftoverInstances(server: TestServer): Promise<void> {
  for (const row of await instancesRepository.liveInstances(server.ctx.database.db)) {
    if (row.handle !== null) {
      await server.ctx.compute.stop(JSON.parse(row.handle) as BackendHandle);
    }
  }
}
