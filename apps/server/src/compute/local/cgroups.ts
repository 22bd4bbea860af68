/**
 * CPU, memory and process limits of a local instance as cgroup v1 groups (the kernel's
 * Documentation/admin-guide/cgroup-v1: memory.limit_in_bytes, cpu.cfs_quota_us over
 * cpu.cfs_period_us, pids.max). One group per controller, nested under the server's own group
 * (from /proc/self/cgroup), named after the instance. The launch moves its own shell into them
 * before it execs the sandbox, so every process of the sandbox is in them from its first
 * instruction.
 *
 * Used only where the v1 hierarchies are mounted and writable (as root on hosts with cgroup v1);
 * elsewhere the backend falls back to prlimit's address-space limit and says so in the handle.
 */
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceType } from '@lantern/core/instances';

const ROOT = '/sys/fs/cgroup';
const CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
type Controller = (typeof CONTROLLERS)[number];

/** The CFS period: a quota of n × this is n CPUs' worth of time (cgroup-v1 sched-bwc). */
export const CPU_PERIOD_US = 100_000;
/** Processes and threads in one sandbox (a kernel with BLAS threads uses a few dozen). */
export const PIDS_MAX = 1024;

function isController(name: string): name is Controller {
  return (CONTROLLERS as readonly string[]).includes(name);
}

/** The limits one instance type gets. */
export interface CgroupLimits {
  memoryBytes: number;
  cpuQuotaUs: number;
  pidsMax: number;
}

export function limitsOf(type: Pick<InstanceType, 'vcpus' | 'memoryMib'>): CgroupLimits {
  return {
    memoryBytes: type.memoryMib * 1024 * 1024,
    cpuQuotaUs: type.vcpus * CPU_PERIOD_US,
    pidsMax: PIDS_MAX,
  };
}

/**
 * The server's own group of each controller, from /proc/self/cgroup (`4:memory:/a/b`,
 * `1:cpu,cpuacct:/`); null when one of them is not a v1 hierarchy here.
 */
export async function ownCgroups(): Promise<Record<Controller, string> | null> {
  const found: Partial<Record<Controller, string>> = {};
  for (const line of (await readFile('/proc/self/cgroup', 'utf8')).split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/u.exec(line) ?? [];
    if (controllers === undefined || path === undefined) {
      continue;
    }
    for (const controller of controllers.split(',')) {
      if (isController(controller)) {
        found[controller] = path;
      }
    }
  }
  const { memory, cpu, pids } = found;
  return memory === undefined || cpu === undefined || pids === undefined
    ? null
    : { memory, cpu, pids };
}

/**
 * Makes the instance's groups and writes its limits; returns their folders, or null when cgroup v1
 * is not usable here (not mounted, not writable), having removed whatever it had made.
 */
export async function createCgroups(name: string, limits: CgroupLimits): Promise<string[] | null> {
  const own = await ownCgroups();
  if (own === null) {
    return null;
  }
  const made: string[] = [];
  try {
    for (const controller of CONTROLLERS) {
      const dir = join(ROOT, controller, own[controller], name);
      await mkdir(dir, { recursive: true });
      made.push(dir);
      await writeLimits(controller, dir, limits);
    }
    return made;
  } catch (error) {
    await removeCgroups(made);
    if (isUnavailable(error)) {
      return null;
    }
    throw error;
  }
}

async function writeLimits(controller: Controller, dir: string, limits: CgroupLimits) {
  switch (controller) {
    case 'memory': {
      await writeFile(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // With swap accounting on, swap counts too: memory is memory, not a slower disk.
      const memsw = join(dir, 'memory.memsw.limit_in_bytes');
      if (await exists(memsw)) {
        await writeFile(memsw, String(limits.memoryBytes));
      }
      return;
    }
    case 'cpu':
      await writeFile(join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      await writeFile(join(dir, 'cpu.cfs_quota_us'), String(limits.cpuQuotaUs));
      return;
    case 'pids':
      await writeFile(join(dir, 'pids.max'), String(limits.pidsMax));
      return;
    default:
      return controller satisfies never;
  }
}

/** The file a process writes its pid to, to join a group. */
export function procsFileOf(dir: string): string {
  return join(dir, 'cgroup.procs');
}

/**
 * Removes the groups, innermost last made first. A group is removable once no process is left in
 * it; processes of a namespace just killed take a moment to go, so each is tried again until
 * `timeoutMs` has passed. Returns the folders still there.
 */
export async function removeCgroups(dirs: readonly string[], timeoutMs = 0): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  const left: string[] = [];
  for (const dir of [...dirs].reverse()) {
    for (;;) {
      try {
        await rmdir(dir);
        break;
      } catch (error) {
        if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
          break;
        }
        if (
          error instanceof Error &&
          'code' in error &&
          error.code === 'EBUSY' &&
          performance.now() < deadline
        ) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        left.push(dir);
        break;
      }
    }
  }
  return left;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Not mounted, or not ours to write: the fallback applies. */
function isUnavailable(error: unknown): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    ['ENOENT', 'EACCES', 'EPERM', 'EROFS'].includes(String(error.code))
  );
}
