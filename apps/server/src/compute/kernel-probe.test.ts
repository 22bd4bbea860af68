/**
 * The culler's question to a kernel itself (issue 8), against Debian's jupyter_server reached by
 * URL (as a Kubernetes Pod is; the local backend's UNIX socket is asked in
 * http/instance-culling.test.ts): an idle kernel replies; a kernel running a cell is silent, also
 * one whose cell was sent as it started (when Jupyter may still call it `starting`); a kernel that
 * cannot be asked is unreachable; and every question's websocket is closed after it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareJupyter, type BareJupyter } from '../testing/bare-jupyter.js';
import { JupyterKernel, type Execution } from '../testing/jupyter-kernel.js';
import { askKernel, askKernels } from './kernel-probe.js';

/** Long enough for an idle kernel on a loaded machine: this bound is not what is tested. */
const GENEROUS_MS = 30_000;
/** The bound a kernel running a cell is asked within (the cell outlasts it many times). */
const SHORT_MS = 1_500;
/** For kernels asked together: the idle one must reply within it, the working one waits it out. */
const MIXED_MS = 10_000;

let jupyter: BareJupyter;
const kernels: JupyterKernel[] = [];

beforeAll(async () => {
  jupyter = await startBareJupyter();
}, 90_000);

afterAll(async () => {
  for (const kernel of kernels) {
    await kernel.close();
  }
  await jupyter.stop();
});

async function openKernel(): Promise<JupyterKernel> {
  const kernel = await JupyterKernel.openAt(`${jupyter.url}${jupyter.baseUrl}`, {
    authorization: `token ${jupyter.token}`,
  });
  kernels.push(kernel);
  return kernel;
}

const ask = (kernelId: string, timeoutMs: number) =>
  askKernel({ url: jupyter.url }, jupyter.baseUrl, jupyter.token, kernelId, timeoutMs);

/** Jupyter's own record of a kernel: its state and how many websockets it has. */
async function record(kernelId: string): Promise<{ execution_state: string; connections: number }> {
  const res = await fetch(`${jupyter.url}${jupyter.baseUrl}api/kernels/${kernelId}`, {
    headers: { authorization: `token ${jupyter.token}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { execution_state: string; connections: number };
}

/** The kernel's websockets, once Jupyter has seen the probe's close: the test kernel's own only. */
const connections = async (kernelId: string) => (await record(kernelId)).connections;

/**
 * Starts `seconds` of sleep in a cell and waits until the kernel says it runs it; the cell's end,
 * wrapped (an async function would wait for a promise it returned).
 */
async function sleepIn(
  kernel: JupyterKernel,
  seconds: number,
): Promise<{ end: Promise<Execution> }> {
  let began: () => void = () => undefined;
  const running = new Promise<void>((resolve) => (began = resolve));
  const end = kernel.execute(`import time\ntime.sleep(${seconds})`, began);
  await running;
  return { end };
}

async function interrupt(kernel: JupyterKernel): Promise<void> {
  const res = await fetch(`${jupyter.url}${jupyter.baseUrl}api/kernels/${kernel.id}/interrupt`, {
    method: 'POST',
    headers: { authorization: `token ${jupyter.token}` },
  });
  expect(res.status).toBe(204);
}

describe('asking a kernel whether it runs a cell', () => {
  it('an idle kernel replies, and the question’s websocket is closed after it', async () => {
    const kernel = await openKernel();
    expect((await kernel.execute('6 * 7')).result).toBe('42');
    expect(await ask(kernel.id, GENEROUS_MS)).toBe('replied');
    await expect.poll(() => connections(kernel.id), { timeout: 30_000 }).toBe(1);
  }, 120_000);

  it('a kernel whose long cell was sent as it started is silent within the bound, whatever Jupyter calls it, and replies once the cell ends', async () => {
    // No settle(): the cell goes at once, as in the race where Jupyter misses the kernel's `busy`
    // and still says `starting` until the cell ends. Asked, the kernel says the same either way.
    const kernel = await openKernel();
    const { end: cell } = await sleepIn(kernel, 600);
    // Jupyter learns of the cell from the kernel's `busy` as this test does, and may not have read
    // it yet when asked: its record says `idle` until then, then `busy` (or `starting`) until the
    // cell ends, ten minutes on.
    await expect
      .poll(async () => (await record(kernel.id)).execution_state, { timeout: 30_000 })
      .toMatch(/^(?:busy|starting)$/u);
    expect(await ask(kernel.id, SHORT_MS)).toBe('silent');
    // The silent question's websocket is closed as well.
    await expect.poll(() => connections(kernel.id), { timeout: 30_000 }).toBe(1);

    await interrupt(kernel);
    expect((await cell).output).toContain('KeyboardInterrupt');
    expect(await ask(kernel.id, GENEROUS_MS)).toBe('replied');
  }, 180_000);

  it('a kernel that cannot be asked is unreachable: a wrong token, no such kernel, nothing listening', async () => {
    const kernel = await openKernel();
    const endpoint = { url: jupyter.url };
    expect(
      await askKernel(endpoint, jupyter.baseUrl, 'not-the-token', kernel.id, GENEROUS_MS),
    ).toBe('unreachable');
    expect(
      await askKernel(endpoint, jupyter.baseUrl, jupyter.token, randomUUID(), GENEROUS_MS),
    ).toBe('unreachable');
    expect(
      await askKernel({ url: 'http://127.0.0.1:1' }, jupyter.baseUrl, jupyter.token, kernel.id),
    ).toBe('unreachable');
  }, 120_000);

  it('asks several kernels at once, each answering for itself', async () => {
    const [idle, working] = [await openKernel(), await openKernel()];
    const { end: cell } = await sleepIn(working, 600);
    const answers = await askKernels(
      { url: jupyter.url },
      jupyter.baseUrl,
      jupyter.token,
      [working.id, idle.id],
      MIXED_MS,
    );
    expect(answers.get(working.id)).toBe('silent');
    // Asked alongside, before the silent one had ended the asking.
    expect(answers.get(idle.id)).toBe('replied');
    await interrupt(working);
    await cell;
  }, 180_000);
});
