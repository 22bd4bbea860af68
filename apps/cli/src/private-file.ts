/**
 * The CLI's private files (credentials, the uploads begun): JSON readable by their owner only
 * (0600) in a directory only the owner can enter (0700), replaced whole through a private temporary
 * file renamed over the old, so a crash never leaves half a file or a moment of wider permissions.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Writes `value` as JSON to `path`; `name` prefixes the temporary file (`.<name>-….tmp`). */
export async function writePrivateJson(path: string, name: string, value: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const temporary = join(dir, `.${name}-${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temporary, 'wx', 0o600);
  try {
    // The mode `open` was given is narrowed by the umask, never widened; say it again.
    await file.chmod(0o600);
    await file.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  await rename(temporary, path);
}
