import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebSocketFrameScanner } from './websocket-frames.js';

/** A client frame as RFC 6455 section 5.2 lays it out: masked, with the length's three forms. */
function frame(opcode: number, payload: Buffer, masked = true, fin = true): Buffer {
  const lengthBytes =
    payload.length < 126
      ? Buffer.from([payload.length])
      : payload.length < 65536
        ? Buffer.from([126, payload.length >> 8, payload.length & 0xff])
        : Buffer.concat([Buffer.from([127]), bigEndian64(payload.length)]);
  lengthBytes[0] = (lengthBytes[0] ?? 0) | (masked ? 0x80 : 0);
  const key = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) {
    for (let i = 0; i < body.length; i += 1) {
      body[i] = (body[i] ?? 0) ^ (key[i % 4] ?? 0);
    }
  }
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode]), lengthBytes, key, body]);
}

function bigEndian64(n: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(n));
  return bytes;
}

/** Every way of cutting `stream` into chunks of `size` bytes. */
function chunks(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += size) {
    out.push(stream.subarray(at, at + size));
  }
  return out;
}

describe('the websocket frame scanner', () => {
  // Text with a 7-bit length, a pong (the browser's own), binary with a 16-bit and a 64-bit length,
  // a ping, a message in two fragments (one message), and a close.
  const stream = Buffer.concat([
    frame(0x1, Buffer.from('{"header":{"msg_type":"execute_request"}}')),
    frame(0xa, Buffer.from('pong')),
    frame(0x2, randomBytes(300)),
    frame(0x2, randomBytes(70_000)),
    frame(0x9, Buffer.alloc(0)),
    frame(0x1, Buffer.from('first half '), true, false),
    frame(0x0, Buffer.from('second half'), true, true),
    frame(0x8, Buffer.from([0x03, 0xe8])),
  ]);

  it('counts text and binary messages, not pings, pongs, closes or continuations', () => {
    expect(new WebSocketFrameScanner().push(stream)).toBe(4);
  });

  it('counts the same however the stream is cut, a byte at a time included', () => {
    for (const size of [1, 2, 3, 7, 13, 1000, 65_536]) {
      const scanner = new WebSocketFrameScanner();
      const counted = chunks(stream, size).reduce((sum, chunk) => sum + scanner.push(chunk), 0);
      expect(counted, `chunks of ${size}`).toBe(4);
    }
  });

  it('finds no message in a tab that only answers pings', () => {
    const scanner = new WebSocketFrameScanner();
    const pongs = Buffer.concat(Array.from({ length: 20 }, () => frame(0xa, randomBytes(8))));
    expect(chunks(pongs, 5).reduce((sum, chunk) => sum + scanner.push(chunk), 0)).toBe(0);
    // A server's unmasked frames parse as well.
    expect(scanner.push(frame(0x1, Buffer.from('hello'), false))).toBe(1);
  });
});
