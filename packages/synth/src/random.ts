/**
 * A seeded pseudo-random generator: xoshiro128** (Blackman and Vigna, https://prng.di.unimi.it/),
 * its 128-bit state filled from the seed by splitmix32. Only 32-bit integer arithmetic
 * (`Math.imul`, `>>>`), so the same seed gives the same numbers on every machine and Node version;
 * `Math.random` is never used. Fast and good enough for synthetic data, not for secrets.
 */

/** The seed of a generator: a number, or a string hashed to one (FNV-1a). */
export type Seed = number | string;

export class Random {
  private readonly state: Uint32Array;
  private spareNormal: number | null = null;

  /**
   * The generator of one item of a larger draw (a patient of a dataset, say), from the seed and
   * the item's path alone (`Random.derive(seed, 'demo-arrest-ecg', 'patient', 17)`): it does not
   * depend on how many numbers any other item drew, so items can be made in any order, on any
   * thread, and come out the same. All 128 bits of its state come from the path (four FNV-1a
   * hashes of it), so that two items share a stream only if all four collide.
   */
  static derive(seed: Seed, ...path: readonly (string | number)[]): Random {
    const key = [String(seed), ...path.map(String)].join('/');
    const random = new Random(key);
    for (let i = 1; i < 4; i++) {
      random.state[i] = ((random.state[i] ?? 0) ^ fnv1a(`${i}\u0000${key}`)) >>> 0;
    }
    if (random.state.every((word) => word === 0)) {
      random.state[0] = 1;
    }
    return random;
  }

  constructor(seed: Seed) {
    let s = typeof seed === 'number' ? seed >>> 0 : fnv1a(seed);
    this.state = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      // splitmix32: spreads a small seed over the whole state, never all zeros.
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.state[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    const s = this.state;
    const s0 = s[0] ?? 0;
    const s1 = s[1] ?? 0;
    const s2 = s[2] ?? 0;
    const s3 = s[3] ?? 0;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    const n2 = (s2 ^ s0) >>> 0;
    const n3 = (s3 ^ s1) >>> 0;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11);
    return result;
  }

  /** A uniform number in [0, 1) with 32 bits of precision. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform number in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** A uniform integer in [min, max], both included. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A normal deviate (Marsaglia's polar method), mean `mean`, standard deviation `sd`. */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * spare;
    }
    let u: number;
    let v: number;
    let q: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const factor = Math.sqrt((-2 * Math.log(q)) / q);
    this.spareNormal = v * factor;
    return mean + sd * u * factor;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) {
      throw new RangeError('nothing to pick from');
    }
    return item;
  }

  /** An independent generator, derived from this one's next numbers (for one patient, one ECG). */
  fork(): Random {
    return new Random((this.nextUint32() ^ Math.imul(this.nextUint32(), 0x27d4eb2d)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash;
}
