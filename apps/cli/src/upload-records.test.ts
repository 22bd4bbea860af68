import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findUpload, forgetUpload, rememberUpload, uploadRecordsPath } from './upload-records.js';

// The uploads `lantern ingest --server` began, kept to resume them: commands run at once (each with
// its own delivery) keep every one of their records, and a record is only ever its own upload's.
const SERVER = 'https://lantern.example.org';
/** The built module, as the `lantern` command runs it. */
const BUILT = new URL('../dist/upload-records.js', import.meta.url).href;

let home: string;
let dir: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'lantern-records-'));
  dir = uploadRecordsPath(join(home, 'lantern', 'credentials.json'));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A process that records `count` uploads of deliveries named `<name>-<n>`, all at once. */
function recordInAnotherProcess(name: string, count: number): Promise<number | null> {
  const program = `
    const { rememberUpload } = await import(${JSON.stringify(BUILT)});
    await Promise.all(Array.from({ length: ${count} }, (_, n) =>
      rememberUpload(${JSON.stringify(dir)}, ${JSON.stringify(SERVER)}, '/deliveries/${name}-' + n,
        { id: 'upl_${name}_' + n, declaredAt: new Date().toISOString() })));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
    stdio: 'inherit',
  });
  return new Promise((done) => child.once('exit', done));
}

describe('upload records', () => {
  it('keeps every record of two processes writing at once', async () => {
    const count = 40;
    const exits = await Promise.all([
      recordInAnotherProcess('knee', count),
      recordInAnotherProcess('chest', count),
    ]);
    expect(exits).toEqual([0, 0]);
    for (const name of ['knee', 'chest']) {
      for (let n = 0; n < count; n += 1) {
        const record = await findUpload(dir, SERVER, `/deliveries/${name}-${n}`);
        expect(record?.id, `${name}-${n}`).toBe(`upl_${name}_${n}`);
      }
    }
    // The owner's alone, and no temporary file left behind.
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const files = await readdir(dir);
    expect(files).toHaveLength(2 * count);
    for (const file of files) {
      expect(file).toMatch(/^[0-9a-f]{32}\.json$/u);
      expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    }
  });

  it('finds a record by server and folder, replaces it, and forgets it only by its id', async () => {
    const declaredAt = '2026-01-01T00:00:00.000Z';
    await rememberUpload(dir, SERVER, '/deliveries/knee-1', { id: 'upl_a', declaredAt });
    expect(await findUpload(dir, SERVER, '/deliveries/knee-1')).toEqual({
      id: 'upl_a',
      declaredAt,
    });
    expect(await findUpload(dir, 'https://other.example.org', '/deliveries/knee-1')).toBeNull();
    expect(await findUpload(dir, SERVER, '/deliveries/knee-2')).toBeNull();

    await rememberUpload(dir, SERVER, '/deliveries/knee-1', { id: 'upl_b', declaredAt });
    // Another upload's id (an older command's) does not forget this one.
    await forgetUpload(dir, SERVER, '/deliveries/knee-1', 'upl_a');
    expect((await findUpload(dir, SERVER, '/deliveries/knee-1'))?.id).toBe('upl_b');
    await forgetUpload(dir, SERVER, '/deliveries/knee-1', 'upl_b');
    expect(await findUpload(dir, SERVER, '/deliveries/knee-1')).toBeNull();
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes a damaged record for none', async () => {
    await rememberUpload(dir, SERVER, '/deliveries/knee-1', {
      id: 'upl_a',
      declaredAt: '2026-01-01T00:00:00.000Z',
    });
    const [file] = await readdir(dir);
    await writeFile(join(dir, file ?? ''), '{"id": ');
    expect(await findUpload(dir, SERVER, '/deliveries/knee-1')).toBeNull();
    await writeFile(join(dir, file ?? ''), '{"id": 7, "declaredAt": "x"}');
    expect(await findUpload(dir, SERVER, '/deliveries/knee-1')).toBeNull();
  });
});
