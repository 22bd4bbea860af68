/**
 * The proxy bench's Lantern, in a process of its own and from the BUILT server (apps/server/dist,
 * what `lantern start` runs: no tsx helpers around its closures, nothing of the bench's in its
 * CPU time). It is built as `lantern start` builds it (PGlite in a temporary data directory, the
 * audit sealer at its production interval, the default log level), with a resolver that gives the
 * bench's instances to one researcher, whom it signs in; then it sends the bench its URL and her
 * session cookie over the IPC channel, and serves until SIGTERM.
 *
 *   node --import tsx bench/compute/lantern-server.ts   (from run.ts, with an IPC channel;
 *     BENCH_ENDPOINTS: JSON of instance id -> notebook URL, BENCH_TOKEN: the notebooks' token)
 *
 * Run WITHOUT `--conditions=lantern-source`: the server's packages then resolve to their dist too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import argon2 from 'argon2';
import { buildApp } from '../../apps/server/dist/app.js';
import { parseConfig } from '../../apps/server/dist/config.js';
import { createContext, startBackgroundWork } from '../../apps/server/dist/context.js';
import { SESSION_COOKIE } from '../../apps/server/dist/http/plugins/cookies.js';
import { createLogger } from '../../apps/server/dist/logging.js';
import { usersRepository } from '../../apps/server/dist/repositories/identity/users.repository.js';

/** What the bench is told once the server listens. */
export interface LanternServerReady {
  url: string;
  /** The researcher's session cookie (`name=value`), who may reach every bench instance. */
  cookie: string;
}

const OWNER = { id: 'u_bench', email: 'bench@example.org', password: 'seven quiet rivers' };

async function main(): Promise<void> {
  const endpoints = new Map(
    Object.entries(JSON.parse(process.env['BENCH_ENDPOINTS'] ?? '{}') as Record<string, string>),
  );
  const token = process.env['BENCH_TOKEN'] ?? '';
  if (process.send === undefined || endpoints.size === 0 || token === '') {
    throw new Error('lantern-server.ts is started by run.ts (IPC, BENCH_ENDPOINTS, BENCH_TOKEN)');
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'lantern-bench-proxy-'));
  const config = parseConfig({
    LANTERN_DATA_DIR: dataDir,
    LANTERN_PORT: '0',
    LANTERN_AUDIT_SEAL_INTERVAL_MS: '200',
  });
  const ctx = await createContext(config, createLogger(config));
  ctx.instanceProxy.resolve = (instanceId, principal) => {
    const url = endpoints.get(instanceId);
    return Promise.resolve(
      url !== undefined && principal.kind === 'user' && principal.userId === OWNER.id
        ? { endpoint: { url }, token, projectId: 'p_bench' }
        : null,
    );
  };
  const { fastify } = await buildApp(ctx);
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  startBackgroundWork(ctx);
  const address = fastify.server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('the server has no TCP address');
  }
  process.once('SIGTERM', () => {
    void fastify
      .close()
      .then(() => ctx.close())
      .finally(() => rm(dataDir, { recursive: true, force: true }));
  });

  // A researcher who has accepted the terms, signed in as she would be.
  await usersRepository.insert(ctx.database.db, {
    id: OWNER.id,
    email: OWNER.email,
    name: 'Bench Researcher',
    status: 'admitted',
    roles: ['researcher'],
    password_hash: await argon2.hash(OWNER.password, { type: argon2.argon2id }),
  });
  const meta = { clientIp: null, userAgent: null };
  const { secret } = await ctx.services.identity.signIn(OWNER.email, OWNER.password, meta);
  const terms = await ctx.services.terms.current();
  await ctx.services.terms.accept(OWNER.id, terms.version, null);
  const ready: LanternServerReady = {
    url: `http://127.0.0.1:${address.port}`,
    cookie: `${SESSION_COOKIE}=${secret}`,
  };
  process.send(ready);
}

await main();
