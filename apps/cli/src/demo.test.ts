import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing/run-cli.js';

interface Summary {
  dataset: string;
  delivery: number;
  patients: number;
  studies: number;
  images: number;
  files: number;
  bytes: number;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-cli-demo-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The files under `root` (relative paths) and the bytes they take on disk (allocated blocks). */
async function usage(root: string): Promise<{ files: string[]; diskBytes: number }> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  let diskBytes = 0;
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    const stats = await lstat(path);
    diskBytes += stats.blocks * 512;
    if (entry.isFile()) {
      files.push(path.slice(root.length + 1));
    }
  }
  return { files, diskBytes };
}

/** SHA-256 of every file under `root`, by relative path. */
async function digests(root: string): Promise<Record<string, string>> {
  const { files } = await usage(root);
  const out: Record<string, string> = {};
  for (const file of files.sort()) {
    out[file] = createHash('sha256')
      .update(await readFile(join(root, file)))
      .digest('hex');
  }
  return out;
}

describe('lantern demo generate', () => {
  it('writes the whole demo catalogue at scale 1, every delivery in its folder, under 200 MB on disk', async () => {
    const out = join(dir, 'catalogue');
    const result = await runCli(['demo', 'generate', '--out', out, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { scale: number; deliveries: Summary[] };
    expect(report.scale).toBe(1);
    const slugs = [...new Set(report.deliveries.map((summary) => summary.dataset))];
    expect(slugs).toEqual(expect.arrayContaining(['demo-arrest-ecg', 'demo-ed-ecg']));
    expect(report.deliveries).toHaveLength(slugs.length * 2);
    expect((await readdir(out)).sort()).toEqual([...slugs].sort());

    for (const summary of report.deliveries) {
      const delivery = join(out, summary.dataset, `delivery-${summary.delivery}`);
      const { files } = await usage(delivery);
      expect(files).toHaveLength(summary.files);
      expect(files).toContain('delivery.yaml');
      expect(files.filter((file) => file.startsWith('tables/')).length).toBeGreaterThanOrEqual(2);
      expect(files.filter((file) => file.startsWith('files/'))).toHaveLength(summary.images);
      expect(summary.patients).toBeGreaterThan(0);
      const manifest = await readFile(join(delivery, 'delivery.yaml'), 'utf8');
      expect(manifest).toContain(`dataset: ${summary.dataset}\n`);
      expect(manifest).toMatch(/synthetic/iu);
    }
    const arrest = report.deliveries.filter((summary) => summary.dataset === 'demo-arrest-ecg');
    // More patients in the second delivery (1.1); the same ones, corrected, for the patch (1.0.1).
    expect(arrest[1]?.patients).toBeGreaterThan(arrest[0]?.patients ?? 0);
    const ed = report.deliveries.filter((summary) => summary.dataset === 'demo-ed-ecg');
    expect(ed[1]).toMatchObject({ patients: ed[0]?.patients, files: ed[0]?.files });

    const { diskBytes } = await usage(out);
    const written = report.deliveries.reduce((sum, summary) => sum + summary.bytes, 0);
    expect(diskBytes).toBeGreaterThanOrEqual(written);
    expect(diskBytes).toBeLessThan(200 * 1024 * 1024);
  }, 300_000);

  it('prints a summary table, and writes into a folder that is not empty only with --force', async () => {
    const out = join(dir, 'one');
    const args = ['demo', 'generate', '--out', out, '--dataset', 'demo-ed-ecg', '--scale', '0.1'];
    const first = await runCli([...args, '--delivery', '1']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Synthetic demo deliveries (no real person)');
    expect(first.stdout).toMatch(
      /^DATASET\s+DELIVERY\s+PATIENTS\s+STUDIES\s+IMAGES\s+FILES\s+MB$/mu,
    );
    expect(first.stdout).toMatch(/^demo-ed-ecg\s+1\s+6\s+\d+\s+\d+\s+\d+\s+\d+\.\d$/mu);
    expect(await readdir(out)).toEqual(['demo-ed-ecg']);
    expect(await readdir(join(out, 'demo-ed-ecg'))).toEqual(['delivery-1']);

    const refused = await runCli([...args, '--delivery', '2']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is not empty: .*--force/u);
    expect(await readdir(join(out, 'demo-ed-ecg'))).toEqual(['delivery-1']);

    const forced = await runCli([...args, '--delivery', '2', '--force']);
    expect(forced.code).toBe(0);
    expect((await readdir(join(out, 'demo-ed-ecg'))).sort()).toEqual(['delivery-1', 'delivery-2']);
  }, 120_000);

  it('writes the same bytes with --workers 1 (in one thread) and --workers 2 (worker threads)', async () => {
    const written: Record<string, string>[] = [];
    for (const workers of ['1', '2']) {
      const out = join(dir, `workers-${workers}`);
      const result = await runCli([
        'demo',
        'generate',
        '--out',
        out,
        '--dataset',
        'demo-arrest-ecg,demo-knee-xray',
        '--scale',
        '0.2',
        '--workers',
        workers,
      ]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      written.push(await digests(out));
    }
    // The native files of two datasets, two deliveries each.
    expect(
      Object.keys(written[0] ?? {}).filter((file) => file.includes('/files/')).length,
    ).toBeGreaterThan(40);
    expect(written[1]).toEqual(written[0]);
  }, 300_000);

  it('refuses unknown datasets (naming the known ones), a scale that is not positive and a third delivery', async () => {
    const out = join(dir, 'never');
    const unknown = await runCli(['demo', 'generate', '--out', out, '--dataset', 'demo-nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /no demo dataset demo-nope; the catalogue has .*demo-arrest-ecg/u,
    );
    for (const scale of ['0', '-1', 'lots']) {
      const result = await runCli(['demo', 'generate', '--out', out, '--scale', scale]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--scale must be a positive number');
    }
    const third = await runCli(['demo', 'generate', '--out', out, '--delivery', '3']);
    expect(third.code).toBe(2);
    expect(third.stderr).toContain('--delivery must be 1 or 2');
    for (const workers of ['0', 'two', '1000']) {
      const result = await runCli(['demo', 'generate', '--out', out, '--workers', workers]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--workers must be a whole number from 1 to 256');
    }
    await expect(readdir(out)).rejects.toThrow(/ENOENT/u);
  });
});
