/**
 * A Jupyter kernel driven over a notebook server's UNIX socket (or over HTTP through something
 * that forwards to one, such as the instance proxy), for the compute tests: the REST
 * API (`api/kernels`) over HTTP and the kernel's `channels` websocket (Jupyter messaging protocol
 * 5.3: an `execute_request` on the shell channel; the `stream` and `error` messages it causes on
 * iopub; done when both the shell's `execute_reply` and iopub's `status: idle` have come, in
 * either order).
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import WebSocket from 'ws';

export interface Execution {
  /** `ok`, `error`, or `died` when the kernel was killed while running the cell. */
  status: 'ok' | 'error' | 'died';
  /** What the cell printed, and any error as `Name: value`. */
  output: string;
}

/**
 * Where a notebook server is reached: its UNIX socket's path, or the `http://host:port` origin of
 * a server that forwards to it (the instance proxy).
 */
function placeOf(where: string): { socketPath: string } | { host: string; port: number } {
  if (!where.startsWith('http://')) {
    return { socketPath: where };
  }
  const url = new URL(where);
  return { host: url.hostname, port: Number(url.port) };
}

/** One HTTP request to the notebook server over its socket (or through a proxy's origin). */
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
        ...placeOf(socketPath),
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
  reply: string | null;
  idle: boolean;
  resolve: (execution: Execution) => void;
}

/** A kernel started on the server, with its websocket open. */
export class JupyterKernel {
  private readonly session = randomUUID();
  private readonly pending = new Map<string, Pending>();

  private constructor(
    private readonly socketPath: string,
    private readonly baseUrl: string,
    private readonly token: string,
    readonly id: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (raw: Buffer) => this.receive(raw));
  }

  static async open(socketPath: string, baseUrl: string, token: string): Promise<JupyterKernel> {
    const created = await jupyterApi(socketPath, token, 'POST', `${baseUrl}api/kernels`, {
      name: 'python3',
    });
    const id = (created.body as { id?: unknown } | null)?.id;
    if (created.status !== 201 || typeof id !== 'string') {
      throw new Error(`no kernel: ${created.status} ${JSON.stringify(created.body)}`);
    }
    const channels = `${baseUrl}api/kernels/${id}/channels`;
    const place = placeOf(socketPath);
    const url =
      'socketPath' in place
        ? `ws+unix://${place.socketPath}:${channels}`
        : `ws://${place.host}:${place.port}${channels}`;
    const ws = new WebSocket(url, {
      headers: { Authorization: `token ${token}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new JupyterKernel(socketPath, baseUrl, token, id, ws);
  }

  /** Runs `code` as one cell and waits for its end (or the kernel's death). */
  execute(code: string): Promise<Execution> {
    const msgId = randomUUID();
    return new Promise((resolve) => {
      this.pending.set(msgId, { output: '', reply: null, idle: false, resolve });
      this.ws.send(
        JSON.stringify({
          channel: 'shell',
          buffers: [],
          metadata: {},
          parent_header: {},
          header: {
            msg_id: msgId,
            msg_type: 'execute_request',
            username: 'ngsci',
            session: this.session,
            date: new Date(0).toISOString(),
            version: '5.3',
          },
          content: {
            code,
            silent: false,
            store_history: false,
            user_expressions: {},
            allow_stdin: false,
            stop_on_error: true,
          },
        }),
      );
    });
  }

  async close(): Promise<void> {
    this.ws.close();
    await jupyterApi(
      this.socketPath,
      this.token,
      'DELETE',
      `${this.baseUrl}api/kernels/${this.id}`,
    ).catch(() => undefined);
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
      for (const [id, pending] of this.pending) {
        this.pending.delete(id);
        pending.resolve({ status: 'died', output: pending.output });
      }
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
    } else if (message.msg_type === 'execute_reply') {
      pending.reply = String(message.content['status']);
    } else if (message.msg_type === 'status' && state === 'idle') {
      pending.idle = true;
    }
    if (pending.reply !== null && pending.idle) {
      this.pending.delete(id);
      pending.resolve({ status: pending.reply === 'ok' ? 'ok' : 'error', output: pending.output });
    }
  }
}
