import { describe, expect, it } from 'vitest';
import { toApiError, type IngestUploadFile } from './index.js';
import {
  isDigestMismatch,
  isTransientUploadFailure,
  remainingToSend,
  retryDelayMs,
  UploadAborted,
  UploadUnreachable,
} from './upload.js';

const problem = (status: number, code: string) => ({
  type: `urn:lantern:problem:${code}`,
  title: code,
  status,
  code,
  detail: `the server said ${code}`,
});

const declared: IngestUploadFile[] = [
  { index: 0, path: 'delivery.yaml', size: 10, sha256: 'a'.repeat(64), received: 10 },
  { index: 1, path: 'tables/patients.csv', size: 100, sha256: 'b'.repeat(64), received: 40 },
  { index: 2, path: 'xrays/x.dcm', size: 5000, sha256: null, received: 0 },
];

describe('remainingToSend', () => {
  it('sends each file from the byte the server holds, and counts what it holds', () => {
    const local = [
      { path: 'delivery.yaml', size: 10, sha256: 'a'.repeat(64) },
      { path: 'tables/patients.csv', size: 100, sha256: 'b'.repeat(64) },
      { path: 'xrays/x.dcm', size: 5000 },
    ];
    const remaining = remainingToSend(declared, local);
    expect(remaining.problems).toEqual([]);
    expect(remaining.held).toBe(50);
    expect(remaining.complete).toBe(1);
    expect(remaining.pending.map((p) => [p.index, p.local.path, p.from])).toEqual([
      [1, 'tables/patients.csv', 40],
      [2, 'xrays/x.dcm', 0],
    ]);
  });

  it('says how a folder differs from the one declared: a file missing, resized, changed or extra', () => {
    const changed = remainingToSend(declared, [
      { path: 'delivery.yaml', size: 10, sha256: 'c'.repeat(64) },
      { path: 'tables/patients.csv', size: 99 },
    ]);
    expect(changed.problems).toEqual([
      { path: 'delivery.yaml', message: 'changed since it was declared for this upload' },
      { path: 'tables/patients.csv', message: '99 bytes here, 100 declared for this upload' },
      { path: 'xrays/x.dcm', message: 'declared for this upload, not in this folder' },
    ]);
    const extra = remainingToSend(declared, [
      { path: 'delivery.yaml', size: 10 },
      { path: 'tables/patients.csv', size: 100 },
      { path: 'xrays/x.dcm', size: 5000 },
      { path: 'xrays/y.dcm', size: 1 },
    ]);
    expect(extra.problems).toEqual([
      { path: '.', message: '4 files here, 3 declared for this upload' },
    ]);
  });
});

describe('retrying a send', () => {
  it('retries a lost connection, a 5xx, a 429 and a 409, and nothing else', () => {
    const answer = (status: number, code: string) =>
      toApiError(new Response(null, { status }), problem(status, code));
    expect(isTransientUploadFailure(new UploadUnreachable('gone'))).toBe(true);
    expect(isTransientUploadFailure(answer(503, 'unavailable'))).toBe(true);
    expect(isTransientUploadFailure(answer(500, 'internal'))).toBe(true);
    expect(isTransientUploadFailure(answer(429, 'rate_limited'))).toBe(true);
    expect(isTransientUploadFailure(answer(409, 'conflict'))).toBe(true);
    expect(isTransientUploadFailure(answer(404, 'not_found'))).toBe(false);
    expect(isTransientUploadFailure(answer(413, 'payload_too_large'))).toBe(false);
    expect(isTransientUploadFailure(answer(400, 'validation_failed'))).toBe(false);
    expect(isTransientUploadFailure(new UploadAborted('stopped'))).toBe(false);
    expect(isTransientUploadFailure(new Error('a bug'))).toBe(false);
  });

  it('tells a file the server discarded for its SHA-256 from the other 409s', () => {
    const conflict = (path: string | null) =>
      toApiError(new Response(null, { status: 409 }), {
        ...problem(409, 'conflict'),
        ...(path === null ? {} : { errors: [{ path, message: 'no' }] }),
      });
    expect(isDigestMismatch(conflict('query.sha256'))).toBe(true);
    // A stale offset, or a newer send of the file that took over.
    expect(isDigestMismatch(conflict('query.offset'))).toBe(false);
    expect(isDigestMismatch(conflict(null))).toBe(false);
    // A last send that came with no SHA-256 at all is refused as a 400, and is no mismatch.
    const missing = toApiError(new Response(null, { status: 400 }), {
      ...problem(400, 'validation_failed'),
      errors: [{ path: 'query.sha256', message: 'required' }],
    });
    expect(isDigestMismatch(missing)).toBe(false);
    expect(isDigestMismatch(new UploadUnreachable('gone'))).toBe(false);
  });

  it('waits 0.5 s doubling to 15 s, or what Retry-After asks', () => {
    const lost = new UploadUnreachable('gone');
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, lost))).toEqual([
      500, 1000, 2000, 4000, 8000, 15_000, 15_000,
    ]);
    const busy = toApiError(
      new Response(null, { status: 503, headers: { 'retry-after': '3' } }),
      problem(503, 'unavailable'),
    );
    expect(retryDelayMs(1, busy)).toBe(3000);
  });
});
