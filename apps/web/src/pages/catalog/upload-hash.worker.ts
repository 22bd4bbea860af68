import type { HashReply, HashRequest } from './hash-worker.js';
import { RunningHashes } from './running-hashes.js';

/**
 * The dedicated worker that hashes the files the ingest page sends (issue 6; its page side is
 * hash-worker.ts): the page's thread only reads the bytes and hands them over, so it stays free
 * for its events while the SHA-256 is worked out here. The bytes go back as they came, transferred.
 */
const hashes = new RunningHashes();

function answer(request: Exclude<HashRequest, { op: 'keep' }>): {
  reply: HashReply;
  transfer: Transferable[];
} {
  switch (request.op) {
    case 'nearest':
      return {
        reply: {
          kind: 'nearest',
          id: request.id,
          offset: hashes.nearest(request.key, request.offset),
        },
        transfer: [],
      };
    case 'update': {
      const { id, key, offset, bytes, digest } = request;
      const sha256 = hashes.update(key, offset, new Uint8Array(bytes), digest);
      return { reply: { kind: 'updated', id, bytes, sha256 }, transfer: [bytes] };
    }
    default:
      return request satisfies never;
  }
}

self.onmessage = (event: MessageEvent<HashRequest>) => {
  const request = event.data;
  if (request.op === 'keep') {
    hashes.keep(request.key, request.from);
    return;
  }
  try {
    const { reply, transfer } = answer(request);
    self.postMessage(reply, { transfer });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    self.postMessage({ kind: 'failed', id: request.id, message } satisfies HashReply);
  }
};

self.postMessage({ kind: 'ready' } satisfies HashReply);
