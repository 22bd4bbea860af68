/**
 * Instance proxy benchmark (issue 8).
 *
 * Measures small-request throughput through Lantern's instance proxy (`/instances/<id>/…`: session
 * cookie authenticated, instance resolved, egress guard, Jupyter's token added) side by side with
 * Debian's configurable-http-proxy (JupyterHub's proxy, `node-configurable-http-proxy`), both in
 * front of the same upstream, which is also reached directly for reference. Two upstreams, one
 * after the other:
 *
 * - a bare Node server in its own process (small-upstream.ts), many times faster than either
 *   proxy, so that the proxies are the bottleneck: the target is judged here;
 * - Debian's jupyter_server (on TCP: configurable-http-proxy 4.5 cannot reach a UNIX socket),
 *   which is what researchers reach, but which itself caps what any proxy in front of it can do:
 *   reported.
 *
 * The load is wrk's, in its own process; rounds alternate between direct, configurable-http-proxy
 * and Lantern, and the medians are compared, with each side's CPU time per request (its process's,
 * from /proc), steadier than the rate when the machine is shared. Target (from the issue): Lantern
 * at least 2.5x configurable-http-proxy's requests per second. It is a measurement: it exits 0
 * whether or not the target is met, non-zero only on errors.
 *
 *   node --conditions=lantern-source --import tsx bench/compute/run.ts [--seconds 5] [--rounds 3]
 *     [--connections 16] [--path api/status] [--out bench/out/compute.json]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { instanceBasePath } from '../../apps/server/src/compute/proxy/instance-proxy.js';
import { bareJupyterArgs } from '../../apps/server/src/testing/bare-jupyter.js';
import type { LanternServerReady } from './lantern-server.js';
import {
  cpuSeconds,
  freePort,
  median,
  pidOf,
  startProcess,
  stopProcess,
  waitFor,
} from './support.js';

const execFileAsync = promisify(execFile);

const TARGET_RATIO = 2.5;
const JUPYTER_INSTANCE = 'bench-instance';
const SMALL_INSTANCE = 'bench-small';
const SMALL_TITLE = 'proxy-bound (small Node upstream)';
const JUPYTER_TITLE = 'Jupyter (jupyter_server)';
const SMALL_UPSTREAM = fileURLToPath(new URL('./small-upstream.ts', import.meta.url));
const LANTERN_SERVER = fileURLToPath(new URL('./lantern-server.ts', import.meta.url));
/** Debian installs configurable-http-proxy's modules here, where only Debian's node looks. */
const DEBIAN_NODE_PATH = '/usr/share/nodejs';

interface Options {
  seconds: number;
  rounds: number;
  connections: number;
  path: string;
  out: string | null;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '16' },
      path: { type: 'string', default: 'api/status' },
      out: { type: 'string' },
    },
  });
  const positive = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`--${name} must be a positive integer, not ${text}`);
    }
    return n;
  };
  return {
    seconds: positive('seconds', values.seconds),
    rounds: positive('rounds', values.rounds),
    connections: positive('connections', values.connections),
    path: values.path.replace(/^\/+/u, ''),
    out: values.out ?? null,
  };
}

interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** One wrk run against `url` with `header`; refuses a run with any error or non-2xx answer. */
async function wrk(url: string, header: string, options: Options): Promise<WrkResult> {
  const { stdout } = await execFileAsync(
    'wrk',
    ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '-H', header, url],
    { maxBuffer: 1 << 20 },
  );
  const rps = /Requests\/sec:\s+([\d.]+)/u.exec(stdout)?.[1];
  const requests = /(\d+) requests in/u.exec(stdout)?.[1];
  const latency = (pct: string) => {
    const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)$`, 'mu').exec(stdout);
    return m?.[1] === undefined || m[2] === undefined ? NaN : Number(m[1]) * (UNIT_MS[m[2]] ?? NaN);
  };
  if (rps === undefined || requests === undefined) {
    throw new Error(`wrk printed no rate:\n${stdout}`);
  }
  if (/Non-2xx or 3xx responses|Socket errors/u.test(stdout)) {
    throw new Error(`wrk saw failed requests against ${url}:\n${stdout}`);
  }
  return {
    requestsPerSecond: Number(rps),
    requests: Number(requests),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
  };
}

interface Side {
  name: string;
  url: string;
  header: string;
  /** The process that does this side's work, whose CPU time is charged to its requests. */
  pid: number;
}

interface Round extends WrkResult {
  /** CPU time (user + system) the side's process spent per request: steadier than req/s under load. */
  cpuUsPerRequest: number;
}

interface SideSummary extends Omit<Round, 'requests'> {
  name: string;
}

/** One wrk run against a side, with the CPU time its process spent meanwhile. */
async function round(side: Side, options: Options): Promise<Round> {
  const before = await cpuSeconds(side.pid);
  const result = await wrk(side.url, side.header, options);
  const spent = (await cpuSeconds(side.pid)) - before;
  return { ...result, cpuUsPerRequest: (spent * 1e6) / result.requests };
}

/** One upstream's sides measured: a warm-up each, then rounds alternating between them. */
async function measure(sides: readonly Side[], options: Options): Promise<SideSummary[]> {
  // Warm-up (JIT, connection pools), then alternating rounds so that load changes hit all sides.
  for (const side of sides) {
    await wrk(side.url, side.header, { ...options, seconds: 1 });
  }
  const results = new Map<string, Round[]>(sides.map((s) => [s.name, []]));
  for (let n = 1; n <= options.rounds; n++) {
    for (const side of sides) {
      const result = await round(side, options);
      results.get(side.name)?.push(result);
      console.log(`  round ${n} ${describe(side.name, result)}  (load ${load()})`);
    }
  }
  return sides.map((side) => {
    const runs = results.get(side.name) ?? [];
    return {
      name: side.name,
      requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
      cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
    };
  });
}

function describe(name: string, r: Omit<Round, 'requests'>): string {
  return (
    `${name.padEnd(24)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s  ` +
    `p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  ` +
    `CPU ${r.cpuUsPerRequest.toFixed(0).padStart(4)} us/request`
  );
}

const load = () => loadavg()[0]?.toFixed(1) ?? '?';

/** The medians of one upstream and Lantern's ratios to configurable-http-proxy and to direct. */
function report(title: string, summary: readonly SideSummary[]) {
  const rate = (name: string) => summary.find((s) => s.name === name)?.requestsPerSecond ?? NaN;
  const ratio = rate(LANTERN) / rate(CHP);
  const ofDirect = rate(LANTERN) / rate(DIRECT);
  console.log(`medians, ${title}:`);
  for (const s of summary) {
    console.log(`  ${describe(s.name, s)}`);
  }
  const cpu = (name: string) => summary.find((s) => s.name === name)?.cpuUsPerRequest ?? NaN;
  // How many requests Lantern forwards for the CPU time configurable-http-proxy spends on one.
  const cpuRatio = cpu(CHP) / cpu(LANTERN);
  return { title, summary, ratio, ofDirect, cpuRatio };
}

const DIRECT = 'upstream (direct)';
const CHP = 'configurable-http-proxy';
const LANTERN = 'lantern';

/**
 * Refuses to measure a proxy whose answer is not the notebook's: wrk counts statuses only. The
 * status, type and length of the body must be the same (Jupyter's status carries times, which move).
 */
async function checkSameAnswer(
  directUrl: string,
  directHeaders: Record<string, string>,
  proxiedUrl: string,
  proxiedHeaders: Record<string, string>,
): Promise<void> {
  const describeAnswer = async (url: string, headers: Record<string, string>) => {
    const res = await fetch(url, { headers });
    const body = await res.arrayBuffer();
    return `${res.status} ${res.headers.get('content-type')} ${body.byteLength} bytes`;
  };
  const direct = await describeAnswer(directUrl, directHeaders);
  const proxied = await describeAnswer(proxiedUrl, proxiedHeaders);
  if (direct !== proxied) {
    throw new Error(`Lantern answered ${proxied} where the notebook answers ${direct}`);
  }
}

/**
 * Starts Lantern's built server in a process of its own (lantern-server.ts, without the
 * `lantern-source` condition, so that the server and its packages load from their dist) and waits
 * for its URL and researcher's cookie.
 */
async function startLantern(
  endpoints: Record<string, string>,
  token: string,
): Promise<LanternServerReady & { child: ChildProcess; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', LANTERN_SERVER], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      BENCH_ENDPOINTS: JSON.stringify(endpoints),
      BENCH_TOKEN: token,
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = await new Promise<LanternServerReady>((resolve, reject) => {
    child.once('message', (message) => resolve(message as LanternServerReady));
    child.once('exit', (code) =>
      reject(new Error(`lantern-server.ts exited ${code ?? 'on a signal'}`)),
    );
  });
  child.disconnect();
  return { ...ready, child, pid: pidOf(child) };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const work = await mkdtemp(join(tmpdir(), 'lantern-bench-compute-'));
  const token = randomBytes(24).toString('hex');
  const children: ChildProcess[] = [];
  try {
    // The notebook: Debian's jupyter_server as a bare start would run it, on TCP.
    const jupyterPort = await freePort();
    await mkdir(join(work, 'root'));
    const jupyter = startProcess(
      '/usr/bin/python3',
      bareJupyterArgs({
        port: jupyterPort,
        baseUrl: instanceBasePath(JUPYTER_INSTANCE),
        rootDir: join(work, 'root'),
      }),
      {
        PATH: '/usr/bin:/bin',
        HOME: work,
        JUPYTER_TOKEN: token,
        JUPYTER_RUNTIME_DIR: join(work, 'runtime'),
        JUPYTER_CONFIG_DIR: join(work, 'config'),
        JUPYTER_DATA_DIR: join(work, 'data'),
      },
    );
    children.push(jupyter);
    // The proxy-bound upstream: a bare Node server in its own process (small-upstream.ts).
    const smallPort = await freePort();
    const small = startProcess(
      process.execPath,
      ['--import', 'tsx', SMALL_UPSTREAM, String(smallPort), instanceBasePath(SMALL_INSTANCE)],
      { PATH: process.env['PATH'] ?? '/usr/bin:/bin', BENCH_TOKEN: token },
    );
    children.push(small);
    const upstreams = [
      {
        instance: SMALL_INSTANCE,
        url: `http://127.0.0.1:${smallPort}`,
        pid: pidOf(small),
        title: SMALL_TITLE,
      },
      {
        instance: JUPYTER_INSTANCE,
        url: `http://127.0.0.1:${jupyterPort}`,
        pid: pidOf(jupyter),
        title: JUPYTER_TITLE,
      },
    ];
    const tokenHeader = `Authorization: token ${token}`;
    const pathOf = (instance: string) => `${instanceBasePath(instance)}${options.path}`;
    for (const upstream of upstreams) {
      await waitFor(
        `${upstream.url}${pathOf(upstream.instance)}`,
        { authorization: `token ${token}` },
        60_000,
      );
    }

    // configurable-http-proxy, one per upstream, every path to it (as JupyterHub routes a user's
    // server).
    const chps = new Map<string, { url: string; pid: number }>();
    for (const upstream of upstreams) {
      const chpPort = await freePort();
      const chp = startProcess(
        '/usr/bin/configurable-http-proxy',
        [
          '--ip=127.0.0.1',
          `--port=${chpPort}`,
          '--api-ip=127.0.0.1',
          `--api-port=${await freePort()}`,
          `--default-target=${upstream.url}`,
          '--log-level=error',
        ],
        {
          PATH: '/usr/bin:/bin',
          NODE_PATH: DEBIAN_NODE_PATH,
          CONFIGPROXY_AUTH_TOKEN: randomBytes(16).toString('hex'),
        },
      );
      children.push(chp);
      const url = `http://127.0.0.1:${chpPort}`;
      chps.set(upstream.instance, { url, pid: pidOf(chp) });
      await waitFor(
        `${url}${pathOf(upstream.instance)}`,
        { authorization: `token ${token}` },
        30_000,
      );
    }

    // Lantern, built, in its own process, with both instances resolved for its researcher.
    const lantern = await startLantern(
      Object.fromEntries(upstreams.map((u) => [u.instance, u.url])),
      token,
    );
    children.push(lantern.child);
    const cookieHeader = `Cookie: ${lantern.cookie}`;

    console.log(
      `proxy bench: GET /instances/<id>/${options.path}, wrk ${options.connections} connections, ` +
        `${options.seconds} s x ${options.rounds} rounds; ${cpus().length} cpus, load ${load()}`,
    );
    const reports = [];
    for (const upstream of upstreams) {
      const path = pathOf(upstream.instance);
      await waitFor(`${lantern.url}${path}`, { cookie: lantern.cookie }, 10_000);
      await checkSameAnswer(
        `${upstream.url}${path}`,
        { authorization: `token ${token}` },
        `${lantern.url}${path}`,
        { cookie: lantern.cookie },
      );
      console.log(`${upstream.title}:`);
      const chp = chps.get(upstream.instance) ?? { url: '', pid: NaN };
      const summary = await measure(
        [
          { name: DIRECT, url: `${upstream.url}${path}`, header: tokenHeader, pid: upstream.pid },
          { name: CHP, url: `${chp.url}${path}`, header: tokenHeader, pid: chp.pid },
          { name: LANTERN, url: `${lantern.url}${path}`, header: cookieHeader, pid: lantern.pid },
        ],
        options,
      );
      reports.push(report(upstream.title, summary));
    }
    // The target is judged where the proxies are the bottleneck; Jupyter's figure is reported.
    for (const r of reports) {
      const judged = r.title === SMALL_TITLE;
      console.log(
        `${r.title}: lantern / configurable-http-proxy ${r.ratio.toFixed(2)}x` +
          (judged
            ? ` (target >= ${TARGET_RATIO}x: ${r.ratio >= TARGET_RATIO ? 'met' : 'not met'})`
            : ' (reported)') +
          `; lantern / direct ${r.ofDirect.toFixed(2)}x; ` +
          `CPU per request, configurable-http-proxy / lantern ${r.cpuRatio.toFixed(2)}x`,
      );
    }
    console.log(`load at the end ${load()}`);
    if (options.out !== null) {
      await mkdir(dirname(options.out), { recursive: true });
      await writeFile(
        options.out,
        `${JSON.stringify({ options, cpus: cpus().length, reports, target: TARGET_RATIO }, null, 2)}\n`,
      );
    }
  } finally {
    for (const child of children) {
      await stopProcess(child);
    }
    await rm(work, { recursive: true, force: true });
  }
}

await main();
