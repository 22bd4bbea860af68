/**
 * Instances as local processes sandboxed by bubblewrap: the embedded default (issue 8).
 * Until the lifecycle lands here, the backend reports only whether it could run instances.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { ComponentCheck } from '../../storage/object-store.js';
import type { ComputeStatus } from '../compute-backend.js';

const BWRAP = '/usr/bin/bwrap';

export class LocalComputeBackend implements ComputeStatus {
  readonly kind = 'local';

  async check(): Promise<ComponentCheck> {
    try {
      await access(BWRAP, constants.X_OK);
      return { ok: true, detail: 'sandboxed local processes (bubblewrap)' };
    } catch {
      return {
        ok: false,
        detail: `bubblewrap is not installed (${BWRAP}); run scripts/debian-packages.sh runtime as root`,
      };
    }
  }
}
