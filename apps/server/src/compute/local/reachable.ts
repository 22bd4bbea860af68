/**
 * Whether the sandbox user can reach a host folder. bubblewrap runs as the sandbox's unprivileged
 * uid, so every folder it binds (the data directory's instance areas, the ngsci module) must be
 * traversable by that uid from the root down. A clone under `/root` (mode 0700 on Debian) is not:
 * the launch would fail deep inside bwrap. This says which folder stops it, so the status page and
 * the launch can say so plainly. Modes are read, not tried: the server runs as root, which
 * `access()` never refuses.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SandboxUser } from '../sandbox-command.js';

/** The first folder on the way to `path` that `user` may not traverse, with its mode; null if none. */
export async function unreachableBy(
  path: string,
  user: SandboxUser,
): Promise<{ folder: string; mode: string } | null> {
  const folders: string[] = [];
  for (let folder = resolve(path); ; folder = dirname(folder)) {
    folders.unshift(folder);
    if (dirname(folder) === folder) {
      break;
    }
  }
  for (const folder of folders) {
    const stats = await stat(folder).catch(() => null);
    if (stats === null) {
      // Not made yet: the server makes it, traversable, when it is first needed.
      return null;
    }
    const bits =
      stats.uid === user.uid
        ? (stats.mode >> 6) & 0o7
        : stats.gid === user.gid
          ? (stats.mode >> 3) & 0o7
          : stats.mode & 0o7;
    if ((bits & 0o1) === 0) {
      return { folder, mode: (stats.mode & 0o777).toString(8).padStart(3, '0') };
    }
  }
  return null;
}

/** The message for a folder the sandbox user cannot reach. */
export function unreachableMessage(
  what: string,
  path: string,
  blocked: { folder: string; mode: string },
  user: SandboxUser,
): string {
  return (
    `the sandbox user (uid ${user.uid}) cannot reach ${what} (${path}): ${blocked.folder} is mode ` +
    `${blocked.mode}. Put it under a folder others may traverse (LANTERN_DATA_DIR or --data-dir ` +
    `for the data directory), or allow traversal: chmod o+x ${blocked.folder}`
  );
}
