/**
 * The set of a table's primary-key values, in memory that does not grow with the keys' length: each
 * key is kept as 95 bits of its SHA-256 (three 32-bit words, one bit always set, in one
 * open-addressing table), so a million keys take 32 MB at most whatever the values are, and a limit
 * on the count (the caller's) bounds the rest. Two different keys share a digest with probability
 * about n^2 / 2^96 (below 2e-15 for ten million keys), well under the chance of a disk error: the
 * price of the bound.
 */
import { createHash } from 'node:crypto';

const WORDS = 3;
const INITIAL_SLOTS = 1024;

/** Composite key values as one string that no other list of values encodes to. */
function encodeKey(values: readonly string[]): string {
  return JSON.stringify(values);
}

export class KeySet {
  private slots = new Uint32Array(INITIAL_SLOTS * WORDS);
  private capacity = INITIAL_SLOTS;
  private count = 0;

  /** How many distinct keys the set holds. */
  get size(): number {
    return this.count;
  }

  /** Adds a key (one value per key column); false when it was already there. */
  add(values: readonly string[]): boolean {
    const [a, b, c] = digest(values);
    if ((this.count + 1) * 4 > this.capacity * 3) {
      this.grow();
    }
    const slot = this.find(a, b, c);
    const at = slot * WORDS;
    if (this.slots[at + 2] !== 0) {
      return false;
    }
    this.slots[at] = a;
    this.slots[at + 1] = b;
    this.slots[at + 2] = c;
    this.count++;
    return true;
  }

  /** Is this key in the set? */
  has(values: readonly string[]): boolean {
    const [a, b, c] = digest(values);
    return this.slots[this.find(a, b, c) * WORDS + 2] !== 0;
  }

  /** The slot holding this digest, or the empty slot where it would go (linear probing). */
  private find(a: number, b: number, c: number): number {
    const mask = this.capacity - 1;
    let slot = a & mask;
    for (;;) {
      const at = slot * WORDS;
      const third = this.slots[at + 2];
      if (third === 0 || (third === c && this.slots[at] === a && this.slots[at + 1] === b)) {
        return slot;
      }
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.capacity *= 2;
    this.slots = new Uint32Array(this.capacity * WORDS);
    for (let at = 0; at < old.length; at += WORDS) {
      const c = old[at + 2] ?? 0;
      if (c !== 0) {
        const a = old[at] ?? 0;
        const b = old[at + 1] ?? 0;
        const slot = this.find(a, b, c) * WORDS;
        this.slots[slot] = a;
        this.slots[slot + 1] = b;
        this.slots[slot + 2] = c;
      }
    }
  }
}

/** 95 bits of the key's SHA-256; the third word is never 0, which marks an empty slot. */
function digest(values: readonly string[]): [number, number, number] {
  const hash = createHash('sha256').update(encodeKey(values)).digest();
  return [hash.readUInt32LE(0), hash.readUInt32LE(4), (hash.readUInt32LE(8) | 1) >>> 0];
}
