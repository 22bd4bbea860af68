import { spawn } from 'node:child_process';

/**
 * Drafts made by an ingest, for the browser tests of the PHI review: small synthetic deliveries
 * of demo datasets (generated, then documented with the demo's words) and delivery folders a test
 * wrote are ingested into a data directory with no server running (the ingest holds the data
 * directory's lock), and left as drafts for a curator to review. It runs in a child Node process
 * on the BUILT server and generators, because the web app's code never imports the server (the
 * layers of DESIGN.md); once `lantern ingest` exists, it is what this runs.
 */
export interface IngestedDraft {
  /** The ids of the PHI scan's findings. */
  findings: string[];
  /** How many files were held back. */
  held: number;
}

const SERVER_DIST = new URL('../../server/dist/', import.meta.url).href;
const SYNTH_DIST = new URL('../../../packages/synth/dist/index.js', import.meta.url).href;

// The child's program: what the demo catalogue does on a first start, short of the PHI decisions
// and publication (apps/server/src/services/ingest/demo-catalogue.ts).
const PROGRAM = `
const { dataDir, demos, folders, server, synth } = JSON.parse(process.argv.at(-1));
const { mkdtemp, rm } = await import('node:fs/promises');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const { DEMO_CATALOGUE, demoDatasetSeed } = await import(synth);
const { loadConfig } = await import(server + 'config.js');
const { createContext } = await import(server + 'context.js');
const { createLogger } = await import(server + 'logging.js');
const { prepareDataDir, lockDataDir } = await import(server + 'db/data-dir.js');
await prepareDataDir(dataDir);
const lock = await lockDataDir(dataDir, 'the browser tests ingest');
const drafts = {};
try {
  const config = { ...loadConfig({ dataDir, demo: false }), logLevel: 'silent' };
  const ctx = await createContext(config, createLogger(config));
  try {
    const { ingest, catalog } = ctx.services;
    const summary = (report) => ({
      findings: report.phi.findings.map((f) => f.id),
      held: report.held.length,
    });
    for (const { slug, scale } of demos) {
      const demo = DEMO_CATALOGUE.find((d) => d.dataset.slug === slug);
      const delivery = await mkdtemp(join(tmpdir(), 'lantern-e2e-delivery-'));
      try {
        await demo.generate({ out: delivery, scale, seed: demoDatasetSeed(1, slug), delivery: 1 });
        const report = await ingest.ingestDirectory(delivery, {
          actor: 'system:lantern',
          dataset: demo.dataset,
          synthetic: true,
        });
        await catalog.setDocumentation(slug, demo.documentation);
        await catalog.setDictionary(slug, {
          tables: report.draft.snapshot.tables.map((table) => {
            const words = demo.tables[table.name];
            return {
              name: table.name,
              description: words?.description ?? '',
              columns: table.columns.map((column) => ({
                name: column.name,
                type: column.type,
                description: words?.columns[column.name]?.description ?? 'The ' + column.name + ' column.',
                ...(words?.columns[column.name] ?? {}),
              })),
            };
          }),
        });
        drafts[slug] = summary(report);
      } finally {
        await rm(delivery, { recursive: true, force: true });
      }
    }
    for (const folder of folders) {
      const report = await ingest.ingestDirectory(folder, { actor: 'system:lantern', synthetic: true });
      drafts[report.dataset] = summary(report);
    }
  } finally {
    await ctx.close();
  }
} finally {
  await lock.release();
}
process.stdout.write(JSON.stringify(drafts));
`;

/**
 * Ingests delivery 1 of each demo dataset (`slug` at `scale`) and each delivery folder into
 * `dataDir`, as drafts; resolves to what each draft's ingest found, by dataset slug.
 */
export function ingestDrafts(
  dataDir: string,
  deliveries: { demos?: { slug: string; scale: number }[]; folders?: string[] },
): Promise<Record<string, IngestedDraft>> {
  const args = JSON.stringify({
    dataDir,
    demos: deliveries.demos ?? [],
    folders: deliveries.folders ?? [],
    server: SERVER_DIST,
    synth: SYNTH_DIST,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', PROGRAM, args], {
      env: { ...process.env, LANTERN_LOG_LEVEL: 'warn' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`the ingest exited with ${String(code)}:\n${err}${out}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as Record<string, IngestedDraft>);
      } catch {
        reject(new Error(`the ingest printed no report:\n${out}${err}`));
      }
    });
  });
}
