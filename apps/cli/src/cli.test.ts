import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LANTERN_BIN, runCli, startLantern } from './testing/run-cli.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-cli-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('lantern', () => {
  it('prints its version', async () => {
    const { version } = JSON.parse(
      await readFile(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('has --help on every command', async () => {
    for (const command of [
      [],
      ['start'],
      ['audit'],
      ['audit', 'verify'],
      ['status'],
      ['login'],
      ['logout'],
      ['whoami'],
      ['tokens'],
      ['tokens', 'list'],
      ['tokens', 'create'],
      ['tokens', 'revoke'],
      ['datasets'],
      ['datasets', 'list'],
      ['datasets', 'show'],
      ['datasets', 'publish'],
      ['publish'],
      ['ingest'],
      ['phi'],
      ['phi', 'list'],
      ['phi', 'decide'],
      ['inspect'],
    ]) {
      const result = await runCli([...command, '--help']);
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: lantern/);
    }
    expect((await runCli(['start', '--help'])).stdout).toMatch(/--data-dir.*--port.*--host/s);
  });

  it('refuses an unknown command with usage', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('starts, serves, stops gracefully, and the audit chain it wrote verifies', async () => {
    const lantern = await startLantern(['--data-dir', dataDir]);
    const health = await fetch(`${lantern.url}/api/v1/health`);
    expect(health.status).toBe(200);

    const status = await runCli(['status', '--server', lantern.url]);
    expect(status.stdout).toMatch(/database\s+PGlite, embedded/);

    // A second server on the same data directory is refused in one line naming the first.
    const second = await runCli(['start', '--no-demo', '--port', '0', '--data-dir', dataDir]);
    expect(second.code).toBe(2);
    expect(second.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^lantern: data directory .* is in use by another Lantern process \\(pid \\d+, lantern start\\)`,
        ),
      ),
    ]);

    expect(await lantern.stop()).toBe(0);
    const verify = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    expect(verify.stdout).toMatch(/^audit chain ok: \d+ events/);
    expect(verify.code).toBe(0);
  });

  it('audit verify exits 1 naming the first bad seq when an event was edited', async () => {
    const lantern = await startLantern(['--data-dir', dataDir]);
    for (let i = 0; i < 5; i += 1) {
      await fetch(`${lantern.url}/api/v1/health`);
    }
    expect(await lantern.stop()).toBe(0);

    // Tamper as someone with direct access to the database files would.
    const pglite = await PGlite.create(join(dataDir, 'db'));
    const { rows } = await pglite.query<{ seq: number }>(
      `select min(seq) as seq from audit_event where body like '%"anonymous"%'`,
    );
    const seq = Number(rows[0]?.seq);
    await pglite.exec(`
      alter table audit_event disable trigger audit_event_no_change;
      update audit_event set body = replace(body, '"anonymous"', '"user:nobody"') where seq = ${seq};
    `);
    await pglite.close();

    const verify = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(
      new RegExp(
        `^audit chain BROKEN at seq ${seq}: seq ${seq} does not match its hash \\(the event was edited\\)`,
      ),
    );
  });

  it('audit verify on a directory with no database says so', async () => {
    const verify = await runCli(['audit', 'verify', '--data-dir', join(dataDir, 'missing')]);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toMatch(
      /no Lantern database in .*missing; pass the data directory with --data-dir/,
    );
  });

  it('start refuses a data directory it cannot write, in one line', async () => {
    const readOnly = join(dataDir, 'read-only');
    await chmod(dataDir, 0o755);
    await mkdir(readOnly, { mode: 0o555 });
    await chmod(readOnly, 0o555);
    // Root writes anywhere, so as root the command runs as `nobody`; otherwise as this user.
    const asRoot = process.getuid?.() === 0;
    const command = asRoot ? 'runuser' : process.execPath;
    const args = [LANTERN_BIN, 'start', '--port', '0', '--data-dir', readOnly];
    const result = spawnSync(
      command,
      asRoot ? ['-u', 'nobody', '--', process.execPath, ...args] : args,
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `lantern: data directory ${readOnly} is not writable by this user (EACCES); fix its permissions or choose another with --data-dir`,
    ]);
  });

  it('start reports a bad configuration as a readable list', async () => {
    const result = await runCli(['start', '--data-dir', dataDir, '--port', 'eighty']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid configuration:\n\s+- LANTERN_PORT/);
  });

  it('status says when no server answers', async () => {
    const result = await runCli(['status', '--server', 'http://127.0.0.1:9']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9 .*is it running\?/);
  });
});
