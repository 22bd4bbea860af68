import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { ComponentCheck } from '../storage/object-store.js';

/**
 * Where notebook instances run. The instance lifecycle (start, stop, poll, state, restore) joins this
 * interface with the compute issue; for now each backend reports whether it could run instances.
 */
export interface ComputeBackend {
  readonly kind: 'local';
  check(): Promise<ComponentCheck>;
}

const BWRAP = '/usr/bin/bwrap';

/** Instances as local processes sandboxed by bubblewrap. */
export class LocalComputeBackend implements ComputeBackend {
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
