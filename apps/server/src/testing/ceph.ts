import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../../scripts/ceph-throwaway.sh', import.meta.url));

/** A running single-node Ceph (scripts/ceph-throwaway.sh): its S3 endpoint and a user's keys. */
export interface ThrowawayCeph {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The LANTERN_S3_* variables of a server storing its objects in `bucket` there. */
  serverEnv(bucket: string): Record<string, string>;
  /** Kills its daemons and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway Ceph (monitor, memstore OSD, radosgw) on free ports, as the S3 tests do in
 * beforeAll; the Debian packages come with `npm test` (scripts/debian-packages.sh test). It is
 * stopped by `stop()`, or else once this process has exited (killed before its afterAll).
 */
export async function startThrowawayCeph(): Promise<ThrowawayCeph> {
  const { stdout } = await run(SCRIPT, ['start', '--owner', String(process.pid)], {
    timeout: 140_000,
  });
  const exported = (name: string): string => {
    const value = new RegExp(`\\b${name}=(\\S+)`).exec(stdout)?.[1];
    if (value === undefined) {
      throw new Error(`ceph-throwaway.sh printed no ${name}:\n${stdout}`);
    }
    return value;
  };
  const dir = exported('LANTERN_CEPH_DIR');
  const endpoint = exported('LANTERN_TEST_S3_ENDPOINT');
  const accessKeyId = exported('LANTERN_TEST_S3_ACCESS_KEY');
  const secretAccessKey = exported('LANTERN_TEST_S3_SECRET_KEY');
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    serverEnv: (bucket) => ({
      LANTERN_OBJECT_STORE: 's3',
      LANTERN_S3_ENDPOINT: endpoint,
      LANTERN_S3_BUCKET: bucket,
      LANTERN_S3_ACCESS_KEY_ID: accessKeyId,
      LANTERN_S3_SECRET_ACCESS_KEY: secretAccessKey,
    }),
    async stop() {
      await run(SCRIPT, ['stop', dir], { timeout: 60_000 });
    },
  };
}

/**
 * A throwaway Ceph for the test file that calls this: started in its beforeAll (a few seconds;
 * more on a busy machine, where the script itself waits up to 90 s), stopped in its afterAll.
 * What it returns reads the running one's endpoint and keys, in the file's tests.
 */
export function useThrowawayCeph(): ThrowawayCeph {
  let started: ThrowawayCeph | undefined;
  beforeAll(async () => {
    started = await startThrowawayCeph();
  }, 150_000);
  afterAll(async () => {
    await started?.stop();
  }, 60_000);
  const running = (): ThrowawayCeph => {
    if (started === undefined) {
      throw new Error('the throwaway Ceph runs only in the tests of the file that uses it');
    }
    return started;
  };
  return {
    get endpoint() {
      return running().endpoint;
    },
    get accessKeyId() {
      return running().accessKeyId;
    },
    get secretAccessKey() {
      return running().secretAccessKey;
    },
    serverEnv: (bucket) => running().serverEnv(bucket),
    stop: () => running().stop(),
  };
}
