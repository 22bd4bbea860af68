/**
 * A process that begins a multipart put into the S3 store and then waits forever, for a test to
 * kill -9 it mid-upload. Reads LANTERN_S3_ENDPOINT, _BUCKET, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY;
 * prints `part sent` once the store has sent its first part and asked for more.
 */
import { S3ObjectStore } from '../storage/s3-object-store.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) {
    throw new Error(`${name} is not set`);
  }
  return value;
};

const MIB = 1024 * 1024;
const store = new S3ObjectStore({
  endpoint: env('LANTERN_S3_ENDPOINT'),
  bucket: env('LANTERN_S3_BUCKET'),
  region: 'us-east-1',
  credentials: {
    accessKeyId: env('LANTERN_S3_ACCESS_KEY_ID'),
    secretAccessKey: env('LANTERN_S3_SECRET_ACCESS_KEY'),
  },
  partBytes: 5 * MIB,
});

async function* thenHang(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < 6; i += 1) {
    yield new Uint8Array(MIB).fill(i);
  }
  // The store awaits each part before reading on: asked for more, it has sent the first.
  process.stdout.write('part sent\n');
  await new Promise(() => undefined);
}

await store.init();
await store.put(thenHang());
