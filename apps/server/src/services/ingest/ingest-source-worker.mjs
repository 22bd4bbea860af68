/**
 * Starts an IngestPool worker process from the TypeScript sources (tests and benchmarks run under
 * tsx): Node cannot load `ingest-worker.ts` itself, so this registers tsx's loader in the process,
 * then imports it (its URL is the one argument). The built server starts
 * `dist/services/ingest/ingest-worker.js` directly and never loads this file. The
 * `lantern-source` condition (workspace packages read from their sources) comes from the worker's
 * execArgv.
 */
import { register } from 'tsx/esm/api';

const entry = process.argv[2];
if (entry === undefined) {
  throw new Error('usage: ingest-source-worker.mjs ENTRY_URL');
}
register();
await import(entry);
