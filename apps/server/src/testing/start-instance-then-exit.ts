/**
 * A process that plays a server which starts one local instance and then goes away, for the
 * restore tests (compute/local/local-backend.test.ts): it starts the instance described by the
 * JSON file SPEC_FILE with a LocalComputeBackend on DATA_DIR, prints the handle it got as one JSON
 * line, and exits. The instance must outlive it.
 *
 * Usage: node --conditions=lantern-source --import tsx start-instance-then-exit.ts DATA_DIR SPEC_FILE
 */
import { readFile } from 'node:fs/promises';
import type { LaunchSpec } from '../compute/compute-backend.js';
import { LocalComputeBackend } from '../compute/local/local-backend.js';

const [dataDir, specFile] = process.argv.slice(2);
if (dataDir === undefined || specFile === undefined) {
  process.stderr.write('usage: start-instance-then-exit.ts DATA_DIR SPEC_FILE\n');
  process.exit(2);
}
const spec = JSON.parse(await readFile(specFile, 'utf8')) as LaunchSpec;
const handle = await new LocalComputeBackend({ dataDir }).start(spec);
process.stdout.write(`${JSON.stringify(handle)}\n`);
