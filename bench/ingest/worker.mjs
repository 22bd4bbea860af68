/**
 * The ingest benchmark's worker thread: takes each DICOM file of the jobs it is sent the way the
 * server's ingest does, through the same function (`ingestDicomFile`, apps/server
 * services/ingest/dicom-ingest.ts: read whole, de-identify with @lantern/deid, store under the
 * SHA-256 with one gathered write into a local object store, temporary file and rename; one
 * buffer lent to every read, as in one ingest), and reports the count and bytes stored. The job
 * says whether the store flushes each object to the disk (fsync, as the server's always does) or
 * not (as the peers do not).
 *
 * It runs the sources, as run.ts does: a worker thread does not inherit the main thread's
 * TypeScript loader, so it registers tsx itself before importing them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { hmacUidRemapper } = await import('@lantern/deid');
const { ingestDicomFile, ReadBuffer } =
  await import('../../apps/server/src/services/ingest/dicom-ingest.ts');
const { LocalObjectStore } = await import('../../apps/server/src/storage/object-store.ts');

const port = parentPort;
const remapUid = hmacUidRemapper(workerData.key);
/** One ingest reads its files one after another into one buffer; so does each worker. */
const readBuffer = new ReadBuffer();

async function runJob(job) {
  const options = { fsync: job.fsync };
  const stores = {
    published: new LocalObjectStore(job.dataDir, 'objects', options),
    quarantine: new LocalObjectStore(job.dataDir, 'quarantine', options),
  };
  await stores.published.init();
  await stores.quarantine.init();
  let bytesOut = 0;
  let held = 0;
  for (const file of job.files) {
    const outcome = await ingestDicomFile(
      file,
      {
        name: file.slice(file.lastIndexOf('/') + 1),
        shiftDays: -123,
        remapUid,
        pseudonym: { patientId: 'BENCH-P', patientName: 'BENCH^P' },
      },
      stores,
      readBuffer,
    );
    if (outcome.kind === 'held') {
      held += 1;
      bytesOut += outcome.quarantined.size;
    } else {
      bytesOut += outcome.size;
    }
  }
  return { files: job.files.length, held, bytesOut };
}

port.on('message', (job) => {
  runJob(job).then(
    (done) => port.postMessage(done),
    (error) => {
      throw error;
    },
  );
});
port.postMessage('ready');
