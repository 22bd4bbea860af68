import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/slurm-throwaway.sh', import.meta.url));

/** A single-node Slurm (scripts/slurm-throwaway.sh, as the server's tests start it), as root. */
export interface ThrowawaySlurm {
  /** Its folder (mode 755): instance folders may go below it. */
  dir: string;
  /** SLURM_CONF for its clients, the server's LANTERN_SLURM_CONF. */
  slurmConf: string;
  /** Runs a Slurm client (sbatch, scancel …) on this cluster; its standard output. */
  command(name: string, args: readonly string[]): Promise<string>;
  /** Cancels its jobs, stops its daemons and removes its folder. */
  stop(): Promise<void>;
}

/** Starts it, stopped by `stop()` or else once this process has exited (`--owner`). */
export async function startThrowawaySlurm(): Promise<ThrowawaySlurm> {
  const { stdout } = await run(SCRIPT, ['start', '--owner', String(process.pid)], {
    timeout: 90_000,
  });
  const dir = /\bLANTERN_SLURM_DIR=(\S+)/.exec(stdout)?.[1];
  const slurmConf = /\bLANTERN_TEST_SLURM_CONF=(\S+)/.exec(stdout)?.[1];
  if (dir === undefined || slurmConf === undefined) {
    throw new Error(`slurm-throwaway.sh printed no cluster:\n${stdout}`);
  }
  return {
    dir,
    slurmConf,
    async command(name, args) {
      const done = await run(`/usr/bin/${name}`, args, {
        env: { ...process.env, SLURM_CONF: slurmConf },
        timeout: 30_000,
      });
      return done.stdout;
    },
    async stop() {
      await run(SCRIPT, ['stop', dir], { timeout: 60_000 });
    },
  };
}
