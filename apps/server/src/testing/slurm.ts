import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../../scripts/slurm-throwaway.sh', import.meta.url));

/** A running single-node Slurm (scripts/slurm-throwaway.sh): its folder and slurm.conf. */
export interface ThrowawaySlurm {
  /** The cluster's temp dir (mode 755): instance folders may go below it. */
  dir: string;
  /** SLURM_CONF for clients. */
  slurmConf: string;
  /** Cancels its jobs, stops its daemons and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway Slurm (munged, slurmctld, slurmd) on free ports, as the Slurm tests do in
 * beforeAll; the Debian packages come with `npm test` (scripts/debian-packages.sh test). Needs
 * root. It is stopped by `stop()`, or else once this process has exited.
 */
export async function startThrowawaySlurm(): Promise<ThrowawaySlurm> {
  const { stdout } = await run(SCRIPT, ['start', '--owner', String(process.pid)], {
    timeout: 90_000,
  });
  const exported = (name: string): string => {
    const value = new RegExp(`\\b${name}=(\\S+)`).exec(stdout)?.[1];
    if (value === undefined) {
      throw new Error(`slurm-throwaway.sh printed no ${name}:\n${stdout}`);
    }
    return value;
  };
  const dir = exported('LANTERN_SLURM_DIR');
  return {
    dir,
    slurmConf: exported('LANTERN_TEST_SLURM_CONF'),
    async stop() {
      await run(SCRIPT, ['stop', dir], { timeout: 60_000 });
    },
  };
}
