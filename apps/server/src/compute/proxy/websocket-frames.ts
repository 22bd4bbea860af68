/**
 * Which websocket messages pass through the instance proxy's tunnel, for the idle culler: the proxy
 * relays bytes as they are, and this watches the client's side of the stream for the headers of
 * its frames (RFC 6455 section 5.2) without holding any payload. A text or binary frame is a
 * message someone sent (a cell run, a comm message); control frames are not activity: the browser
 * answers Jupyter's pings by itself every 30 seconds for as long as a tab stays open, used or not.
 *
 * It only observes: a stream that is not websocket framing at all is still relayed untouched, and
 * at worst miscounted.
 */

/** Opcodes that start a message (RFC 6455 section 5.2): text and binary. */
const TEXT = 0x1;
const BINARY = 0x2;
/** The longest header: 2 bytes, 8 of extended length, 4 of masking key. */
const MAX_HEADER_BYTES = 14;

/** Follows a websocket byte stream, chunk by chunk, counting the messages that start in it. */
export class WebSocketFrameScanner {
  private readonly header = Buffer.alloc(MAX_HEADER_BYTES);
  private have = 0;
  /** Payload bytes of the current frame still to pass. */
  private skip = 0;

  /** Reads the next chunk of the stream; how many text or binary messages began in it. */
  push(chunk: Buffer): number {
    let messages = 0;
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const passed = Math.min(this.skip, chunk.length - at);
        this.skip -= passed;
        at += passed;
        continue;
      }
      this.header[this.have] = chunk[at] ?? 0;
      this.have += 1;
      at += 1;
      const size = this.headerSize();
      if (size === null || this.have < size) {
        continue;
      }
      const opcode = (this.header[0] ?? 0) & 0x0f;
      if (opcode === TEXT || opcode === BINARY) {
        messages += 1;
      }
      this.skip = this.payloadLength();
      this.have = 0;
    }
    return messages;
  }

  /** The whole header's length once its first two bytes are in; null before. */
  private headerSize(): number | null {
    if (this.have < 2) {
      return null;
    }
    const second = this.header[1] ?? 0;
    const length7 = second & 0x7f;
    const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const mask = (second & 0x80) !== 0 ? 4 : 0;
    return 2 + extended + mask;
  }

  private payloadLength(): number {
    const length7 = (this.header[1] ?? 0) & 0x7f;
    if (length7 === 126) {
      return this.header.readUInt16BE(2);
    }
    if (length7 === 127) {
      // Lengths beyond 2^53 do not occur; a stream that claims one is not followed exactly.
      return Number(this.header.readBigUInt64BE(2));
    }
    return length7;
  }
}
