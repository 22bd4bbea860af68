/**
 * A server stand-in that dies with its ingest workers busy, for ingest-pool.test.ts ("worker
 * processes end with their parent"): a pool of two worker processes, storing into DATA_DIR's local
 * stores, takes the DICOM files given (both workers started and working), then one named pipe
 * each, which no one writes: as a DICOM file, refused at once (no regular file; a blocking read
 * would hold its worker deaf to its parent's end), and as a slide, whose worker is held in its
 * read, mid-file; it prints
 * `workers <pid> <pid>` and waits to be killed.
 *
 * Usage: node --conditions=lantern-source --import tsx ingest-pool-orphan.ts DATA_DIR DICOM DICOM
 *   FIFO FIFO
 */
import { basename } from 'node:path';
import type { FileJob } from '../services/ingest/file-ingest.js';
import { IngestPool } from '../services/ingest/ingest-pool.js';
import { LocalObjectStore } from '../storage/object-store.js';

const [dataDir, ...paths] = process.argv.slice(2);
if (dataDir === undefined || paths.length !== 4) {
  throw new Error('usage: ingest-pool-orphan.ts DATA_DIR DICOM DICOM FIFO FIFO');
}
const stores = {
  published: new LocalObjectStore(dataDir, 'objects'),
  quarantine: new LocalObjectStore(dataDir, 'quarantine'),
};
await stores.published.init();
await stores.quarantine.init();
const pool = new IngestPool({ workers: 2, stores });
const job = (path: string): FileJob => ({
  kind: 'dicom',
  path,
  name: basename(path),
  shiftDays: -7,
  uidKey: new Uint8Array(32).fill(3),
  pseudonym: { patientId: 'ORPHAN', patientName: 'ORPHAN^TEST' },
});
await Promise.all(paths.slice(0, 2).map((path) => pool.ingestFile(job(path))));
// The pipes are never written, and this process is killed: the DICOM file fails at once (no
// regular file), the slide never settles, its rewrite with a folder in the scratch area by then.
const [dicomFifo = '', slideFifo = ''] = paths.slice(2);
pool.ingestFile(job(dicomFifo)).catch(() => undefined);
pool.ingestFile({ ...job(slideFifo), kind: 'slide' }).catch(() => undefined);
process.stdout.write(`workers ${pool.workerPids.join(' ')}\n`);
// Kept alive by the busy workers until the test kills it.
