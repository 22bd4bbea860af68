/**
 * A process that ingests a delivery into a data directory and kills itself with SIGKILL (as
 * `kill -9` would) at the point `LANTERN_TEST_DIE_AT` names, for the crash tests
 * (services/ingest/ingest-crash.test.ts):
 * - `put:<n>:mid`: during the n-th put into the object store, once the store has taken its first
 *   chunk and asks for the next (a table's CSV half-written to a temporary file), or before it
 *   takes a file (a putFile's file, left in the scratch area where a worker wrote it);
 * - `put:<n>:after`: right after the n-th put returns, before any row refers to its object;
 * - `held:<n>:mid` and `held:<n>:after`: the same for the n-th put into the quarantine (an image
 *   held for burned-in text, its de-identified bytes kept for the review);
 * - `phase:<phase>`: when the ingest reports that phase (`scanning`: every row of the draft
 *   written, the run not yet marked done).
 * The stores are the configured ones (published and quarantine), each wrapped only to count its
 * puts and die on cue. Without a cue the
 * ingest runs to its end and the process prints `done <ingest id>`.
 *
 * Usage: node --conditions=lantern-source --import tsx ingest-then-die.ts DATA_DIR DELIVERY_DIR
 */
import { join } from 'node:path';
import { parseConfig } from '../config.js';
import { createContext } from '../context.js';
import { DeploymentKey } from '../crypto/deployment-key.js';
import { createLogger } from '../logging.js';
import { CatalogService } from '../services/catalog/catalog.service.js';
import { HeldFilesService } from '../services/ingest/held-files.service.js';
import { INGEST_SCRATCH_DIR, IngestPool } from '../services/ingest/ingest-pool.js';
import { IngestService } from '../services/ingest/ingest.service.js';
import type { ListedObject, ObjectStore, StoredObject } from '../storage/object-store.js';

type Cue =
  | { kind: 'put' | 'held'; n: number; when: 'mid' | 'after' }
  | { kind: 'phase'; phase: string }
  | { kind: 'none' };

function parseCue(text: string | undefined): Cue {
  if (text === undefined || text === '') {
    return { kind: 'none' };
  }
  const put = /^(put|held):(\d+):(mid|after)$/u.exec(text);
  if (put !== null) {
    return {
      kind: put[1] === 'held' ? 'held' : 'put',
      n: Number(put[2]),
      when: put[3] === 'mid' ? 'mid' : 'after',
    };
  }
  const phase = /^phase:([a-z]+)$/u.exec(text);
  if (phase?.[1] !== undefined) {
    return { kind: 'phase', phase: phase[1] };
  }
  throw new Error(`LANTERN_TEST_DIE_AT: not a cue: ${text}`);
}

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('SIGKILL did not kill this process');
}

/** The store, dying on the cue's put (`put` cues the published store, `held` the quarantine). */
function dyingStore(inner: ObjectStore, cue: Cue, kind: 'put' | 'held'): ObjectStore {
  let puts = 0;
  async function* dieAfterFirstChunk(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let given = 0;
    for await (const chunk of body) {
      if (given > 0) {
        die();
      }
      given += 1;
      yield chunk;
    }
    die();
  }
  return {
    kind: inner.kind,
    location: inner.location,
    check: () => inner.check(),
    async put(body): Promise<StoredObject> {
      puts += 1;
      const cued = cue.kind === kind && cue.n === puts;
      if (cued && cue.when === 'mid') {
        return inner.put(dieAfterFirstChunk(body));
      }
      const stored = await inner.put(body);
      if (cued) {
        die();
      }
      return stored;
    },
    async putFile(file): Promise<StoredObject> {
      puts += 1;
      const cued = cue.kind === kind && cue.n === puts;
      if (cued && cue.when === 'mid') {
        // Killed before the file is taken: it is left where its maker wrote it.
        die();
      }
      const stored = await inner.putFile(file);
      if (cued) {
        die();
      }
      return stored;
    },
    get: (key) => inner.get(key),
    head: (key) => inner.head(key),
    delete: (key) => inner.delete(key),
    list: (): AsyncIterable<ListedObject> => inner.list(),
    sweepIncomplete: (before) => inner.sweepIncomplete(before),
    close: () => inner.close(),
  };
}

const [dataDir, delivery] = process.argv.slice(2);
if (dataDir === undefined || delivery === undefined) {
  throw new Error('usage: ingest-then-die.ts DATA_DIR DELIVERY_DIR');
}
const cue = parseCue(process.env['LANTERN_TEST_DIE_AT']);
const config = parseConfig({
  LANTERN_DATA_DIR: dataDir,
  LANTERN_LOG_LEVEL: 'silent',
  LANTERN_DEMO: 'off',
});
const ctx = await createContext(config, createLogger(config));
const key = await DeploymentKey.load(config.secretKeyFile);
const db = ctx.database.db;
const store = dyingStore(ctx.objectStore, cue, 'put');
const catalog = new CatalogService(db, ctx.services.audit, store);
const stores = { published: store, quarantine: dyingStore(ctx.quarantineStore, cue, 'held') };
// One worker process writes the files; this process stores them, through the stores that die.
const pool = new IngestPool({
  workers: 1,
  stores,
  scratch: join(config.dataDir, INGEST_SCRATCH_DIR),
});
const heldFiles = new HeldFilesService(db, ctx.services.audit, catalog, stores);
const ingest = new IngestService(
  db,
  ctx.services.audit,
  catalog,
  key.pseudonymKey(),
  pool,
  heldFiles,
);
const report = await ingest.ingestDirectory(delivery, {
  actor: 'system:lantern',
  onProgress: (progress) => {
    if (cue.kind === 'phase' && progress.phase === cue.phase) {
      die();
    }
  },
});
await ctx.close();
process.stdout.write(`done ${report.id}\n`);
