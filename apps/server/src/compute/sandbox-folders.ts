/**
 * The user's folders a sandbox binds (`/home/ngsci` and `/home/ngsci/project`), made on the host
 * before a launch by every backend that binds host folders (local processes, Slurm jobs): bwrap
 * fails on a bind whose source is missing, and runs as the sandbox's user, who must own them.
 */
import { chmod, chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LaunchSpec } from './compute-backend.js';
import type { SandboxUser } from './sandbox-command.js';

/**
 * Makes the home (0700) and project (0770) folders if missing, and in the home the mount points
 * of the project and the datasets (so bwrap need not make them), each given to `owner`; left with
 * their owner when `owner` is undefined (a server not run as root runs sandboxes as itself).
 */
export async function prepareSandboxFolders(
  spec: Pick<LaunchSpec, 'homePath' | 'projectPath'>,
  owner: SandboxUser | undefined,
): Promise<void> {
  await prepareOwnedFolder(spec.homePath, 0o700, owner);
  await prepareOwnedFolder(spec.projectPath, 0o770, owner);
  await prepareOwnedFolder(join(spec.homePath, 'project'), 0o755, owner);
  await prepareOwnedFolder(join(spec.homePath, 'datasets'), 0o755, owner);
}

/** A folder, its mode set only when it is made here (a user's own chmod is kept). */
async function prepareOwnedFolder(
  path: string,
  mode: number,
  owner: SandboxUser | undefined,
): Promise<void> {
  const made = await mkdir(path, { recursive: true, mode });
  if (made !== undefined) {
    await chmod(path, mode);
  }
  if (owner !== undefined) {
    await chown(path, owner.uid, owner.gid);
  }
}
