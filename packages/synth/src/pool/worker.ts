/**
 * A SynthPool's worker thread: makes the native files of the patients it is sent, one patient
 * after another, writing each file itself (the parent never holds an image) and telling the
 * parent of every file, of the chunk done, or of the patient that failed (the chunk stops there).
 */
import { parentPort } from 'node:worker_threads';
import { DeliveryWriter } from '../demo/delivery-writer.js';
import { type ChunkMessage, type PatientFilesRef, type WorkerMessage } from './pool-messages.js';

interface LoadedFilesWriter {
  write(writer: DeliveryWriter, patient: unknown, context: unknown): Promise<void>;
}

const port = parentPort;
if (port === null) {
  throw new Error('the synth pool worker runs in a worker thread');
}

function send(message: WorkerMessage): void {
  port?.postMessage(message);
}

/** The PatientFilesWriter `ref` names, checked to be one. */
async function load(ref: PatientFilesRef): Promise<LoadedFilesWriter> {
  const module = (await import(ref.module)) as Record<string, unknown>;
  const found = module[ref.name];
  if (
    typeof found !== 'object' ||
    found === null ||
    !('write' in found) ||
    typeof found.write !== 'function'
  ) {
    throw new TypeError(`${ref.module} exports no patient files writer named ${ref.name}`);
  }
  return found as LoadedFilesWriter;
}

async function run(chunk: ChunkMessage): Promise<void> {
  const writer = new DeliveryWriter(chunk.out, {
    reuse: chunk.reuse,
    onFile: (file) => send({ kind: 'file', task: chunk.task, ...file }),
  });
  let patient = chunk.first;
  try {
    const files = await load(chunk.files);
    for (const record of chunk.patients) {
      await files.write(writer, record, chunk.context);
      patient += 1;
    }
    send({ kind: 'done', task: chunk.task });
  } catch (error) {
    send({
      kind: 'failed',
      task: chunk.task,
      patient,
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
  }
}

port.on('message', (chunk: ChunkMessage) => {
  void run(chunk);
});
