import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signInFirstAdmin } from './testing/first-admin.js';
import { LANTERN_BIN, runCli, startLantern, type RunningLantern } from './testing/run-cli.js';

// The CLI signs in as a user would: against a real `lantern start`, with the first admin's password
// set from the printed link and tokens made over HTTP, as the web Account page makes them.
const PASSWORD = 'quiet orchard under seven moons';

let dataDir: string;
let lantern: RunningLantern;
let cookie: string;
let home: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-cli-login-'));
  lantern = await startLantern(['--data-dir', dataDir]);
  // Admins act as admins only after enrolling a second factor, as the web app asks them to.
  ({ cookie } = await signInFirstAdmin(lantern, PASSWORD));
});

afterAll(async () => {
  await lantern.stop();
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'lantern-cli-home-'));
  return () => rm(home, { recursive: true, force: true });
});

/** `lantern <args>` as a user whose home is `home`, with no LANTERN_* variables of the test's own. */
function lanternCli(args: string[], env: Record<string, string> = {}, stdin = '') {
  return runCli(
    args,
    {
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      LANTERN_SERVER: '',
      LANTERN_TOKEN: '',
      ...env,
    },
    stdin,
  );
}

/** A token of the first admin, made over HTTP with the session cookie. */
async function makeToken(
  name: string,
  scope: string[],
): Promise<{ secret: string; id: string; expiresAt: string }> {
  const res = await fetch(`${lantern.url}/api/v1/auth/tokens`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', 'x-lantern-csrf': '1' },
    body: JSON.stringify({ name, scope, expiresInDays: 30 }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { token: string; info: { id: string; expiresAt: string } };
  return { secret: body.token, id: body.info.id, expiresAt: body.info.expiresAt };
}

/** What the server answers to the token now. */
async function statusOfToken(secret: string): Promise<number> {
  const res = await fetch(`${lantern.url}/api/v1/auth/token`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  return res.status;
}

const credentialsFile = () => join(home, 'config', 'lantern', 'credentials.json');

async function login(secret: string) {
  return lanternCli(['login', '--server', lantern.url, '--with-token'], {}, `${secret}\n`);
}

describe('lantern login', () => {
  it('checks the token with the server, saves it for your eyes only, and says who you are', async () => {
    const token = await makeToken('laptop', ['public', 'account', 'audit.read']);
    const result = await login(token.secret);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^Signed in to ${lantern.url} as Administrator <admin@lantern\\.local>\n`),
    );
    expect(result.stdout).toMatch(/roles\s+admin\n/);
    expect(result.stdout).toMatch(/scope\s+public, account, audit\.read\n/);
    expect(result.stdout).not.toContain(token.secret);

    expect((await stat(credentialsFile())).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, 'config', 'lantern'))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(credentialsFile(), 'utf8')) as {
      servers: Record<string, { savedAt: string }>;
    };
    expect(Object.keys(saved.servers)).toEqual([lantern.url]);
    expect(saved.servers[lantern.url]).toEqual({
      token: token.secret,
      tokenId: token.id,
      tokenName: 'laptop',
      user: 'admin@lantern.local',
      savedAt: saved.servers[lantern.url]?.savedAt,
    });
    expect(Date.parse(saved.servers[lantern.url]?.savedAt ?? '')).not.toBeNaN();

    // Every later command finds the one saved server and its token by itself.
    const whoami = await lanternCli(['whoami']);
    expect(whoami.code).toBe(0);
    expect(whoami.stdout.split('\n')).toEqual([
      `Administrator <admin@lantern.local> on ${lantern.url}`,
      '  status   admitted',
      '  roles    admin',
      `  token    laptop (${token.id}), saved in ${credentialsFile()}`,
      '  scope    public, account, audit.read',
      `  expires  ${token.expiresAt.slice(0, 10)} (in 30 days)`,
      '',
    ]);
    const list = await lanternCli(['tokens', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^\\* ${token.id}\\s+laptop\\s+public,account,audit\\.read`, 'm'),
    );
    const status = await lanternCli(['status']);
    expect(status.stdout).toMatch(new RegExp(`^Lantern \\S+ at ${lantern.url}: `));
    for (const output of [whoami, list, status]) {
      expect(output.stdout + output.stderr).not.toContain(token.secret);
    }
  });

  it('saves nothing for a refused token, and says why in one line with exit code 1', async () => {
    const revoked = await makeToken('gone', ['public']);
    await fetch(`${lantern.url}/api/v1/auth/tokens/${revoked.id}`, {
      method: 'DELETE',
      headers: { cookie, 'x-lantern-csrf': '1' },
    });
    const refused = await login(revoked.secret);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toEqual([
      `lantern: ${lantern.url} refused this token (invalid, expired or revoked); nothing was saved`,
    ]);

    const malformed = await login('password123');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^lantern: that is not a Lantern API token/);

    // Without --with-token, a script is told how instead of hanging on a prompt.
    const piped = await lanternCli(['login', '--server', lantern.url], {}, revoked.secret);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toMatch(/stdin is not a terminal: pipe the token in with --with-token/);

    await expect(stat(credentialsFile())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('asks on a terminal without echoing the token', async () => {
    const token = await makeToken('typed', ['public']);
    // script(1) gives the command a pseudo-terminal; the token is typed once the prompt shows.
    const child = spawn(
      'script',
      ['-qec', `${process.execPath} ${LANTERN_BIN} login --server ${lantern.url}`, '/dev/null'],
      {
        env: {
          ...process.env,
          HOME: home,
          XDG_CONFIG_HOME: join(home, 'config'),
          LANTERN_TOKEN: '',
        },
      },
    );
    let screen = '';
    let typed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      if (!typed && screen.includes('Paste an API token')) {
        typed = true;
        child.stdin.write(`${token.secret}\r`);
      }
    });
    const code = await new Promise<number | null>((done) => child.once('close', done));
    child.stdin.destroy();
    expect(code).toBe(0);
    expect(screen).toContain(
      `Paste an API token for ${lantern.url} (make one at ${lantern.url}/account):`,
    );
    expect(screen).toMatch(/Signed in to .* as Administrator/);
    expect(screen).not.toContain(token.secret);
    expect(await readFile(credentialsFile(), 'utf8')).toContain(token.id);
  });
});

describe('the token a command uses', () => {
  it('is LANTERN_TOKEN when set, over the saved one; a refused one says to log in again', async () => {
    const saved = await makeToken('saved', ['public', 'account']);
    const fromEnv = await makeToken('from-env', ['public']);
    expect((await login(saved.secret)).code).toBe(0);

    const whoami = await lanternCli(['whoami'], { LANTERN_TOKEN: fromEnv.secret });
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toContain(`  token    from-env (${fromEnv.id}), from LANTERN_TOKEN\n`);
    expect(whoami.stdout).toContain('  scope    public\n');
    expect(whoami.stdout).not.toContain(fromEnv.secret);

    // LANTERN_SERVER picks the server the same way --server does.
    const bySetting = await lanternCli(['whoami', '--json'], { LANTERN_SERVER: `${lantern.url}/` });
    expect(JSON.parse(bySetting.stdout)).toMatchObject({
      server: lantern.url,
      user: { email: 'admin@lantern.local' },
      token: { id: saved.id, name: 'saved' },
      tokenSource: 'credentials',
    });

    // The saved token revoked elsewhere (say, on the web Account page).
    await fetch(`${lantern.url}/api/v1/auth/tokens/${saved.id}`, {
      method: 'DELETE',
      headers: { cookie, 'x-lantern-csrf': '1' },
    });
    for (const command of [['status'], ['whoami'], ['tokens', 'list']]) {
      const refused = await lanternCli(command);
      expect(refused.code, command.join(' ')).toBe(1);
      expect(refused.stderr.trim().split('\n')).toEqual([
        'lantern: your token was refused (revoked or expired): run lantern login',
      ]);
      expect(refused.stdout + refused.stderr).not.toContain(saved.secret);
    }
  });

  it('needs a server named when tokens for several are saved', async () => {
    const token = await makeToken('two', ['public']);
    expect((await login(token.secret)).code).toBe(0);
    const other = 'https://lantern.example.org';
    const credentials = JSON.parse(await readFile(credentialsFile(), 'utf8')) as {
      servers: Record<string, unknown>;
    };
    credentials.servers[other] = { ...(credentials.servers[lantern.url] as object) };
    await writeFile(credentialsFile(), JSON.stringify(credentials), { mode: 0o600 });

    const ambiguous = await lanternCli(['whoami']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toBe(
      `lantern: you are signed in to several servers (${lantern.url}, ${other}); choose one with --server or LANTERN_SERVER\n`,
    );
    expect((await lanternCli(['whoami', '--server', lantern.url])).code).toBe(0);
  });
});

describe('lantern logout', () => {
  it('with --revoke revokes the token on the server, then forgets it', async () => {
    const token = await makeToken('leaving', ['public']);
    expect((await login(token.secret)).code).toBe(0);
    expect(await statusOfToken(token.secret)).toBe(200);

    const logout = await lanternCli(['logout', '--revoke']);
    expect(logout.code).toBe(0);
    expect(logout.stdout).toBe(
      `Revoked token leaving (${token.id}) on ${lantern.url} and forgot it\n`,
    );
    expect(await statusOfToken(token.secret)).toBe(401);
    expect(JSON.parse(await readFile(credentialsFile(), 'utf8'))).toEqual({ servers: {} });

    const whoami = await lanternCli(['whoami', '--server', lantern.url]);
    expect(whoami.code).toBe(1);
    expect(whoami.stderr).toBe(
      `lantern: you are not signed in to ${lantern.url}: run lantern login\n`,
    );
  });

  it('without --revoke forgets the token and leaves it working on the server', async () => {
    const token = await makeToken('kept', ['public']);
    expect((await login(token.secret)).code).toBe(0);
    const logout = await lanternCli(['logout', '--server', lantern.url]);
    expect(logout.code).toBe(0);
    expect(await statusOfToken(token.secret)).toBe(200);
    expect((await lanternCli(['logout', '--server', lantern.url])).stderr).toBe(
      `lantern: no token is saved for ${lantern.url}; nothing to forget\n`,
    );
  });
});

describe('lantern tokens', () => {
  it('create mints a narrower token, shown once; a wider one is refused; revoke stops one', async () => {
    const holder = await makeToken('holder', ['public', 'account']);
    expect((await login(holder.secret)).code).toBe(0);

    const created = await lanternCli([
      'tokens',
      'create',
      '--name',
      'nightly',
      '--scope',
      'public',
    ]);
    expect(created.code).toBe(0);
    // The secret alone on stdout, for `TOKEN=$(lantern tokens create …)`; the rest on stderr.
    expect(created.stdout).toMatch(/^lnt_[a-z2-7]{52}\n$/);
    expect(created.stderr).toMatch(/Made token nightly \(tok_[0-9a-f]+\) .*scope public/);
    expect(created.stderr).toMatch(/This is the only time the token is shown: store it now\./);
    const minted = created.stdout.trim();
    expect(await statusOfToken(minted)).toBe(200);

    const wider = await lanternCli([
      'tokens',
      'create',
      '--name',
      'wider',
      '--scope',
      'public,audit.read',
    ]);
    expect(wider.code).toBe(1);
    expect(wider.stdout).toBe('');
    expect(wider.stderr).toBe(
      `lantern: ${lantern.url} answered 403: a token cannot hold permissions you do not have: audit.read\n`,
    );

    const unknown = await lanternCli(['tokens', 'create', '--name', 'x', '--scope', 'everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown permission everything; choose from public, account/);

    const list = await lanternCli(['tokens', 'list', '--json']);
    const { tokens } = JSON.parse(list.stdout) as { tokens: { id: string; name: string }[] };
    const nightly = tokens.find((t) => t.name === 'nightly');
    expect(nightly).toBeDefined();
    const revoke = await lanternCli(['tokens', 'revoke', nightly?.id ?? '']);
    expect(revoke.code).toBe(0);
    expect(await statusOfToken(minted)).toBe(401);
    // Another person's token, or none by that id, looks alike.
    const again = await lanternCli(['tokens', 'revoke', nightly?.id ?? '']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/answered 404: no live token/);
  });
});
