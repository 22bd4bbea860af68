/**
 * The proxy bench's second upstream: a notebook stand-in in its own process, a bare Node `http`
 * server that answers what Jupyter's `api/status` answers (a small JSON object, keep-alive) many
 * times faster than Jupyter does, so that in front of it the proxies, not the notebook, are what
 * limits the rate. Like Jupyter it serves only under its base path and only to its token
 * (`Authorization: token …`), so a proxy that failed to add the token would fail the run.
 *
 *   node --import tsx bench/compute/small-upstream.ts <port> <base path>   (token in BENCH_TOKEN)
 */
import { createServer } from 'node:http';

const [port, base] = process.argv.slice(2);
const token = process.env['BENCH_TOKEN'];
if (port === undefined || base === undefined || token === undefined || token === '') {
  throw new Error('usage: small-upstream.ts <port> <base path>, with the token in BENCH_TOKEN');
}
const authorization = `token ${token}`;
const started = new Date().toISOString();
// The shape and size of jupyter_server's status answer.
const body = JSON.stringify({ started, last_activity: started, connections: 0, kernels: 0 });
const headers = {
  'content-type': 'application/json',
  'content-length': Buffer.byteLength(body),
  'cache-control': 'no-cache, no-store, must-revalidate',
  'x-content-type-options': 'nosniff',
};

createServer((req, res) => {
  if (req.headers.authorization !== authorization) {
    res.writeHead(403, { 'content-length': 0 }).end();
  } else if (!(req.url ?? '').startsWith(base)) {
    res.writeHead(404, { 'content-length': 0 }).end();
  } else {
    res.writeHead(200, headers).end(body);
  }
}).listen(Number(port), '127.0.0.1');
