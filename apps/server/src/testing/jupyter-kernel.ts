/**
 * A Jupyter kernel driven over a notebook server's UNIX socket, or over HTTP at a URL (through
 * Lantern's instance proxy, or a bare jupyter_server on TCP), for the compute tests and benchmarks:
 * the REST API (`api/kernels`) and the kernel's `channels` websocket (Jupyter messaging protocol
 * 5.3: an `execute_request` on the shell channel; the `stream`, `error` and `execute_result`
 * messages it causes on iopub; done when both the shell's `execute_reply` and iopub's
 * `status: idle` have come, in either order), built by compute/jupyter-message.ts.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import WebSocket from 'ws';
import { jupyterRequest } from '../compute/jupyter-message.js';

export interface Execution {
  /**
   * `ok`, `error`, or `died` when the kernel was killed (or its websocket closed) while running the
   * cell.
   */
  status: 'ok' | 'error' | 'died';
  /** What the cell printed, and any error as `Name: value`. */
  output: string;
  /** The value of the cell's last expression (`text/plain` of its `execute_result`), if any. */
  result: string | null;
}

/** How a kernel's REST calls and websocket reach the notebook server. */
interface KernelTransport {
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  websocket(path: string): WebSocket;
}

/** Over the notebook server's UNIX socket, with Jupyter's own token. */
function unixSocketTransport(socketPath: string, token: string): KernelTransport {
  return {
    api: (method, path, body) => jupyterApi(socketPath, token, method, path, body),
    websocket: (path) =>
      new WebSocket(`ws+unix://${socketPath}:${path}`, {
        headers: { Authorization: `token ${token}` },
      }),
  };
}

/** Over HTTP at `origin` (`http://host:port`), each request carrying `headers`. */
function httpTransport(origin: string, headers: Record<string, string>): KernelTransport {
  return {
    async api(method, path, body) {
      const res = await fetch(`${origin}${path}`, {
        method,
        headers: { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // Not JSON (an HTML error page): kept as text.
      }
      return { status: res.status, body: parsed };
    },
    websocket: (path) => new WebSocket(`${origin.replace(/^http/u, 'ws')}${path}`, { headers }),
  };
}

/** When a kernel's opening reached each step, in `performance.now()` milliseconds. */
export interface KernelOpening {
  startedAt: number;
  /** `POST api/kernels` answered. */
  createdAt: number;
  /** Its websocket open. */
  openAt: number;
}

/** One HTTP request to the notebook server over its socket. */
export function jupyterApi(
  socketPath: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: {
          Host: 'localhost',
          'Content-Type': 'application/json',
          ...(token === null ? {} : { Authorization: `token ${token}` }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? null : JSON.parse(text);
          } catch {
            // Not JSON (an HTML error page): kept as text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

interface Pending {
  output: string;
  result: string | null;
  reply: string | null;
  idle: boolean;
  resolve: (execution: Execution) => void;
  began: () => void;
}

/** A kernel started on the server, with its websocket open. */
/** How long close() waits for Jupyter to answer the kernel's DELETE. */
const KERNEL_DELETE_WAIT_MS = 10_000;

export class JupyterKernel {
  private readonly session = randomUUID();
  private readonly pending = new Map<string, Pending>();

  private constructor(
    private readonly transport: KernelTransport,
    private readonly baseUrl: string,
    readonly id: string,
    private readonly ws: WebSocket,
    readonly opening: KernelOpening,
  ) {
    ws.on('message', (raw: Buffer) => this.receive(raw));
    // A closed websocket answers nothing more: every cell under way ends as if the kernel died.
    ws.on('close', () => this.endAll());
  }

  /** A new kernel on the notebook server at `socketPath` (its base URL and Jupyter token). */
  static open(socketPath: string, baseUrl: string, token: string): Promise<JupyterKernel> {
    return JupyterKernel.start(unixSocketTransport(socketPath, token), baseUrl);
  }

  /**
   * A new kernel on the notebook server whose base is the HTTP URL `base` (ending in `/`: an
   * instance's `/instances/<id>/` through the proxy, or a bare server's base URL), every request
   * and the websocket's handshake carrying `headers` (a session cookie and Origin, or a token).
   */
  static openAt(base: string, headers: Record<string, string>): Promise<JupyterKernel> {
    const url = new URL(base);
    return JupyterKernel.start(httpTransport(url.origin, headers), url.pathname);
  }

  private static async start(transport: KernelTransport, baseUrl: string): Promise<JupyterKernel> {
    const startedAt = performance.now();
    const created = await transport.api('POST', `${baseUrl}api/kernels`, { name: 'python3' });
    const id = (created.body as { id?: unknown } | null)?.id;
    if (created.status !== 201 || typeof id !== 'string') {
      throw new Error(`no kernel: ${created.status} ${JSON.stringify(created.body)}`);
    }
    const createdAt = performance.now();
    const ws = transport.websocket(`${baseUrl}api/kernels/${id}/channels`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new JupyterKernel(transport, baseUrl, id, ws, {
      startedAt,
      createdAt,
      openAt: performance.now(),
    });
  }

  /**
   * Runs `code` as one cell and waits for its end (or the kernel's death); `began` is called when
   * the kernel says it runs it (`execute_input` on iopub).
   */
  execute(code: string, began: () => void = () => undefined): Promise<Execution> {
    const request = jupyterRequest('shell', 'execute_request', this.session, {
      code,
      silent: false,
      store_history: false,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    return new Promise((resolve) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        resolve({ status: 'died', output: '', result: null });
        return;
      }
      this.pending.set(request.header.msg_id, {
        output: '',
        result: null,
        reply: null,
        idle: false,
        resolve,
        began,
      });
      this.ws.send(JSON.stringify(request));
    });
  }

  /**
   * Runs empty cells until the notebook server's own record of this kernel (`api/kernels/<id>`,
   * what the idle culler reads) says `idle`; throws after `timeoutMs`. jupyter_server watches a
   * kernel's iopub from a socket it connects as the kernel starts, and status messages published
   * before that socket is connected are lost: a cell sent at once can run while the server still
   * says `starting` (seen with jupyter_server 1.23). Tests that watch the server's states settle
   * the kernel first.
   */
  async settle(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const ran = await this.execute('None');
      if (ran.status !== 'ok') {
        throw new Error(`the kernel did not run an empty cell: ${ran.status} ${ran.output}`);
      }
      const read = await this.transport.api('GET', `${this.baseUrl}api/kernels/${this.id}`);
      const state = (read.body as { execution_state?: unknown } | null)?.execution_state;
      if (state === 'idle') {
        return;
      }
      if (performance.now() > deadline) {
        throw new Error(`the notebook server still says the kernel is ${String(state)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Pings over the websocket; resolves at the pong. */
  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.once('pong', () => resolve());
      this.ws.ping();
    });
  }

  /** Closes the websocket with `code`; resolves with the close code that came back. */
  disconnect(code = 1000, reason = ''): Promise<number> {
    if (this.ws.readyState === WebSocket.CLOSED) {
      return Promise.resolve(code);
    }
    return new Promise((resolve) => {
      this.ws.once('close', (echoed: number) => resolve(echoed));
      this.ws.close(code, reason);
    });
  }

  /** Closes the websocket and shuts the kernel down. */
  async close(): Promise<void> {
    // Not waiting for the close handshake: the notebook server may be gone already.
    this.ws.close();
    // Nor for long for the DELETE: Jupyter answers it once the kernel has exited (its shutdown
    // wait, then a kill), which on a loaded machine took most of a teardown's minute; the
    // instance's stop, which follows in every test, ends the kernel with its sandbox anyway.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.transport.api('DELETE', `${this.baseUrl}api/kernels/${this.id}`).catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, KERNEL_DELETE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private endAll(): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.resolve({ status: 'died', output: pending.output, result: pending.result });
    }
  }

  private receive(raw: Buffer): void {
    const message = JSON.parse(raw.toString('utf8')) as {
      msg_type: string;
      parent_header?: { msg_id?: string };
      content: Record<string, unknown>;
    };
    const state = message.content['execution_state'];
    if (message.msg_type === 'status' && (state === 'restarting' || state === 'dead')) {
      // The kernel was killed (out of memory): every cell under way ends with it.
      this.endAll();
      return;
    }
    const id = message.parent_header?.msg_id;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || pending === undefined) {
      return;
    }
    if (message.msg_type === 'stream') {
      pending.output += String(message.content['text']);
    } else if (message.msg_type === 'error') {
      pending.output += `${String(message.content['ename'])}: ${String(message.content['evalue'])}\n`;
    } else if (message.msg_type === 'execute_input') {
      pending.began();
    } else if (message.msg_type === 'execute_result') {
      const data = message.content['data'];
      const plain =
        typeof data === 'object' && data !== null && 'text/plain' in data
          ? data['text/plain']
          : undefined;
      pending.result = typeof plain === 'string' ? plain : null;
    } else if (message.msg_type === 'execute_reply') {
      pending.reply = String(message.content['status']);
    } else if (message.msg_type === 'status' && state === 'idle') {
      pending.idle = true;
    }
    if (pending.reply !== null && pending.idle) {
      this.pending.delete(id);
      pending.resolve({
        status: pending.reply === 'ok' ? 'ok' : 'error',
        output: pending.output,
        result: pending.result,
      });
    }
  }
}
