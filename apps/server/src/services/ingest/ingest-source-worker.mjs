/**
 * Starts an IngestPool worker from the TypeScript sources (tests and benchmarks run under tsx):
 * Node cannot load `ingest-worker.ts` itself, so this registers tsx's loader in the worker thread,
 * then imports it. The built server starts `dist/services/ingest/ingest-worker.js` directly and
 * never loads this file. The `lantern-source` condition (workspace packages read from their
 * sources) comes from the worker's execArgv.
 */
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
