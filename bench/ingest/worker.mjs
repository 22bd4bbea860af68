/**
 * The ingest benchmark's worker thread: de-identifies the files of each job it is sent with the
 * built @lantern/deid (worker threads do not inherit the main thread's TypeScript loader), writes
 * each output under its SHA-256, and reports the count and bytes written.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { deidentifyDicom, hmacUidRemapper } from '@lantern/deid';

const port = parentPort;
const remapUid = hmacUidRemapper(workerData.key);

async function runJob(job) {
  let bytesOut = 0;
  for (const file of job.files) {
    const result = deidentifyDicom(await readFile(file), {
      name: file.slice(file.lastIndexOf('/') + 1),
      shiftDays: -123,
      remapUid,
      pseudonym: { patientId: 'BENCH-P', patientName: 'BENCH^P' },
    });
    await writeFile(join(job.outDir, `${result.sha256}.dcm`), result.bytes);
    bytesOut += result.bytes.length;
  }
  return { files: job.files.length, bytesOut };
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
