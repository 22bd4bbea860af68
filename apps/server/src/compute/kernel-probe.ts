/**
 * Asking a kernel itself whether it runs a cell (issue 8), for the idle culler when Jupyter's
 * record of the kernel settles nothing (`starting`, `unknown` …: `kernelsToAsk` in
 * `@lantern/core/instances`). A `kernel_info_request` goes on the kernel's shell channel over the
 * notebook server's `api/kernels/<id>/channels` websocket, opened through the connector every
 * question to a notebook goes through (a UNIX socket, a Pod's URL, a Slurm job's relay), so that
 * every backend is asked alike. A kernel handles its shell channel one request at a time (Jupyter
 * messaging 5.x; ipykernel's shell dispatch), so it replies only once a running cell has ended:
 * a reply within the bound says it runs nothing, and no reply that it may.
 *
 * Each question is bounded in time, and its websocket is terminated at the end whatever happened;
 * an instance's kernels are asked a few at a time, and no more once one did not reply (that one
 * keeps the instance). Nothing here throws: a failure is an answer (`unreachable`).
 */
import { randomUUID } from 'node:crypto';
import type { KernelAnswer } from '@lantern/core/instances';
import WebSocket, { type ClientOptions, type RawData } from 'ws';
import { z } from 'zod';
import type { NotebookEndpoint } from './compute-backend.js';
import { jupyterRequest } from './jupyter-message.js';
import { connectorOf, createConnectionOf } from './notebook-connector.js';

/**
 * How long a kernel has to reply. An idle kernel replies in milliseconds; a loaded machine may
 * take longer, and a kernel that does not reply in time is only kept (and asked again later).
 */
export const KERNEL_PROBE_MS = 3_000;
/** How many of an instance's kernels are asked at once. */
export const KERNEL_PROBE_CONCURRENCY = 4;
/**
 * The largest message read. The websocket also carries the kernel's iopub (a running cell's
 * output, plots); a larger message ends the question as `unreachable`, which keeps the instance.
 */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

const replySchema = z
  .object({
    msg_type: z.string(),
    parent_header: z.object({ msg_id: z.string().optional() }).loose().nullish(),
  })
  .loose();

/**
 * Asks the kernel `kernelId` of the notebook at `endpoint` (served under `baseUrl`, with its
 * Jupyter token) for its kernel info: `replied`, `silent` after `timeoutMs`, or `unreachable`.
 */
export function askKernel(
  endpoint: NotebookEndpoint,
  baseUrl: string,
  token: string,
  kernelId: string,
  timeoutMs = KERNEL_PROBE_MS,
): Promise<KernelAnswer> {
  const request = jupyterRequest('shell', 'kernel_info_request', randomUUID());
  const options: ClientOptions = {
    // Its own connection, through the connector (not pooled: an upgraded connection leaves). ws
    // hands this to Node's http.request, which takes the callback form; @types/ws types only
    // net.createConnection's.
    createConnection: createConnectionOf(connectorOf(endpoint)) as unknown as NonNullable<
      ClientOptions['createConnection']
    >,
    headers: { authorization: `token ${token}` },
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    followRedirects: false,
  };
  return new Promise((resolve) => {
    // The connector opens the connection; the URL gives the path and `Host: localhost`, which
    // Jupyter requires.
    const ws = new WebSocket(
      `ws://localhost${baseUrl}api/kernels/${encodeURIComponent(kernelId)}/channels`,
      options,
    );
    let answered = false;
    const answer = (said: KernelAnswer) => {
      if (!answered) {
        answered = true;
        clearTimeout(timer);
        // Terminated, not closed: a close handshake could wait on a notebook that went away.
        ws.terminate();
        resolve(said);
      }
    };
    // Covers the handshake too: jupyter_server may hold it while the kernel works.
    const timer = setTimeout(() => answer('silent'), timeoutMs);
    ws.on('error', () => answer('unreachable'));
    ws.on('close', () => answer('unreachable'));
    ws.on('open', () => ws.send(JSON.stringify(request)));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary && isReplyTo(data, request.header.msg_id)) {
        answer('replied');
      }
    });
  });
}

/**
 * Asks the kernels `kernelIds` (see askKernel), a few at a time, until one does not reply: the
 * answers by kernel; the kernels left unasked then have none (and count as busy, as that one does).
 */
export async function askKernels(
  endpoint: NotebookEndpoint,
  baseUrl: string,
  token: string,
  kernelIds: readonly string[],
  timeoutMs = KERNEL_PROBE_MS,
): Promise<Map<string, KernelAnswer>> {
  const answers = new Map<string, KernelAnswer>();
  const queue = [...kernelIds];
  let doubt = false;
  const askNext = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined && !doubt; id = queue.shift()) {
      const said = await askKernel(endpoint, baseUrl, token, id, timeoutMs);
      answers.set(id, said);
      doubt ||= said !== 'replied';
    }
  };
  const askers = Math.min(KERNEL_PROBE_CONCURRENCY, kernelIds.length);
  await Promise.all(Array.from({ length: askers }, askNext));
  return answers;
}

/** Whether a websocket message is the kernel_info_reply to the request `msgId`. */
function isReplyTo(data: RawData, msgId: string): boolean {
  let message: unknown;
  try {
    message = JSON.parse(textOf(data));
  } catch {
    return false;
  }
  const parsed = replySchema.safeParse(message);
  return (
    parsed.success &&
    parsed.data.msg_type === 'kernel_info_reply' &&
    parsed.data.parent_header?.msg_id === msgId
  );
}

/** A text message's text (ws gives a Buffer; fragments and ArrayBuffers only if asked for). */
function textOf(data: RawData): string {
  if (Array.isArray(data)) {
    return Buffer.concat(data).toString('utf8');
  }
  return (data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8');
}
