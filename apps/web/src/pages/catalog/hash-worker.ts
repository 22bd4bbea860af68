/**
 * The ingest page's way to the worker that hashes the files it sends (upload-hash.worker.ts, issue
 * 6): SHA-256 in pure JS is slow enough that on the page's own thread it held the page (its
 * progress bar, its keyboard) for a tenth of a second or more at a time. Bytes go to the worker
 * and come back transferred, never copied. The worker starts on first use; one that fails to
 * start (its script refused or missing, the browser out of memory) fails every request with
 * HashingUnavailable, and the page then sends nothing, since nothing may go unchecked.
 */

/** A request to the worker; `id` numbers the ones answered. */
export type HashRequest =
  | { op: 'nearest'; id: number; key: number; offset: number }
  | { op: 'update'; id: number; key: number; offset: number; bytes: ArrayBuffer; digest: boolean }
  | { op: 'keep'; key: number; from: number };

/** What the worker says: that it runs, or the answer to a request. */
export type HashReply =
  | { kind: 'ready' }
  | { kind: 'nearest'; id: number; offset: number }
  | { kind: 'updated'; id: number; bytes: ArrayBuffer; sha256: string | undefined }
  | { kind: 'failed'; id: number; message: string };

/** Bytes hashed, handed back, and the SHA-256 up to their end when it was asked for. */
export interface Hashed {
  bytes: ArrayBuffer;
  sha256: string | undefined;
}

/** The running hashes of files, by the page's number for each (running-hashes.ts), kept apart. */
export interface HashService {
  /** Resolves once hashing can be done; rejects with HashingUnavailable if it cannot. */
  ready(): Promise<void>;
  nearest(key: number, offset: number): Promise<number>;
  /** Hashes `bytes` (handed over: the caller's buffer is detached) and hands them back. */
  update(key: number, offset: number, bytes: ArrayBuffer, digest: boolean): Promise<Hashed>;
  keep(key: number, from: number): void;
  /** Ends the hashing; a later request starts it anew. */
  close(): void;
}

/** Hashing cannot be done in this browser: the worker did not start, or stopped. */
export class HashingUnavailable extends Error {
  override readonly name = 'HashingUnavailable';
}

type Answer = Extract<HashReply, { id: number }>;

interface Waiting {
  resolve: (answer: Answer) => void;
  reject: (error: HashingUnavailable) => void;
}

/** One started worker and the requests it has yet to answer. */
class Connection {
  readonly ready: Promise<void>;
  private readonly worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private failure: HashingUnavailable | null = null;
  private nextId = 0;
  private markReady: () => void = () => undefined;
  private markFailed: (error: HashingUnavailable) => void = () => undefined;

  constructor() {
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.markFailed = reject;
    });
    // Whoever waits on it reads its failure; none waiting is no error.
    this.ready.catch(() => undefined);
    try {
      // A module worker, bundled by Vite from this URL.
      this.worker = new Worker(new URL('./upload-hash.worker.ts', import.meta.url), {
        type: 'module',
        name: 'upload hashes',
      });
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error));
      return;
    }
    this.worker.onmessage = (event: MessageEvent<HashReply>) => this.receive(event.data);
    // Its script not loaded (refused, missing, not JavaScript), or an error it did not catch.
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.fail(event.message === '' ? 'its script did not load' : event.message);
    };
    this.worker.onmessageerror = () => this.fail('a message from it could not be read');
  }

  /** Posts `request` (its buffers handed over) and resolves to the worker's answer. */
  async ask(request: HashRequest & { id: number }, transfer: Transferable[]): Promise<Answer> {
    await this.ready;
    return new Promise((resolve, reject) => {
      if (this.failure !== null || this.worker === null) {
        reject(this.failure ?? new HashingUnavailable('the hashing worker stopped'));
        return;
      }
      this.waiting.set(request.id, { resolve, reject });
      this.worker.postMessage(request, { transfer });
    });
  }

  /** A number for the next request. */
  id(): number {
    this.nextId += 1;
    return this.nextId;
  }

  /** Posts a request that has no answer; dropped if the worker is not running. */
  tell(request: HashRequest): void {
    if (this.failure === null) {
      this.worker?.postMessage(request);
    }
  }

  close(): void {
    this.fail('the page closed it');
  }

  private receive(reply: HashReply): void {
    if (reply.kind === 'ready') {
      this.markReady();
      return;
    }
    const waiting = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    waiting?.resolve(reply);
  }

  private fail(why: string): void {
    if (this.failure !== null) {
      return;
    }
    this.failure = new HashingUnavailable(
      `the browser could not run the worker that works out each file's SHA-256 (${why})`,
    );
    this.worker?.terminate();
    this.markFailed(this.failure);
    for (const waiting of this.waiting.values()) {
      waiting.reject(this.failure);
    }
    this.waiting.clear();
  }
}

/** The hashing worker, started on first use. */
export class HashWorker implements HashService {
  private connection: Connection | null = null;

  ready(): Promise<void> {
    return this.connect().ready;
  }

  async nearest(key: number, offset: number): Promise<number> {
    const connection = this.connect();
    const answer = await connection.ask({ op: 'nearest', id: connection.id(), key, offset }, []);
    return answer.kind === 'nearest' ? answer.offset : failed(answer);
  }

  async update(key: number, offset: number, bytes: ArrayBuffer, digest: boolean): Promise<Hashed> {
    const connection = this.connect();
    const answer = await connection.ask(
      { op: 'update', id: connection.id(), key, offset, bytes, digest },
      [bytes],
    );
    return answer.kind === 'updated'
      ? { bytes: answer.bytes, sha256: answer.sha256 }
      : failed(answer);
  }

  keep(key: number, from: number): void {
    this.connection?.tell({ op: 'keep', key, from });
  }

  close(): void {
    this.connection?.close();
    this.connection = null;
  }

  private connect(): Connection {
    this.connection ??= new Connection();
    return this.connection;
  }
}

/** A request the worker could not do: a bug of the page's, not of the file's. */
function failed(answer: Answer): never {
  throw new Error(
    answer.kind === 'failed' ? answer.message : `the hashing worker answered ${answer.kind}`,
  );
}
