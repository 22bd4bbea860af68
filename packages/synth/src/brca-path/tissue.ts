/**
 * Procedural H&E breast tissue, made one tile at a time: any tile of a slide of any size comes
 * from the slide's few numbers alone (a seed, a size, a severity), so a 50,000 x 50,000 slide is
 * made in flat memory. What is drawn, in order: white glass with a faint grain; a tissue section
 * with an irregular outline (a wobbling ellipse cut by low-frequency noise); pink eosin stroma with
 * fibre-like streaks; ducts and glands as rings (a pale lumen inside a purple-pink epithelial wall
 * lined with nuclei); purple haematoxylin nuclei as blobs on a jittered grid; now and then a pen
 * mark. Severity (0 in situ, 1 metastatic) raises the density of nuclei, their size, their
 * irregularity and their darkness, and lowers the number of well-formed glands, as tumour grade does.
 */

/** One slide's drawing: everything a tile needs. */
export interface TissueSpec {
  seed: number;
  /** Level 0's size in pixels. */
  width: number;
  height: number;
  /** 0 (in situ, low grade) to 1 (high grade, metastatic). */
  severity: number;
  /** Whether a pen mark crosses the slide. */
  penMark: boolean;
}

/** Pixels between nuclei centres' grid points at level 0 (about 7 microns at 0.5 MPP). */
const NUCLEUS_GRID = 14;
/** Pixels between glands' grid points. */
const GLAND_GRID = 360;
const GLASS: readonly [number, number, number] = [243, 242, 240];

/** A 32-bit hash of integers (a murmur-style finalizer over each), the source of all randomness. */
export function hashInts(seed: number, a: number, b: number, c = 0): number {
  let h = Math.imul(seed ^ 0x9e3779b9 ^ (a | 0), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ (b | 0), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ (c | 0), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) from a hash. */
function unit(seed: number, a: number, b: number, c = 0): number {
  return hashInts(seed, a, b, c) / 4294967296;
}

/**
 * Smooth value noise in [0, 1) on a lattice of `scale` pixels. A tile's pixels walk a lattice cell
 * row by row, so the cell's four corner hashes are kept until (x, y) leaves it: the same numbers as
 * hashing them for every pixel, without the hashing.
 */
class ValueNoise {
  private cellX = Number.NaN;
  private cellY = Number.NaN;
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(
    private readonly seed: number,
    private readonly scale: number,
  ) {}

  at(x: number, y: number): number {
    const fx = x / this.scale;
    const fy = y / this.scale;
    const ix = Math.floor(fx);
    const iy = Math.floor(fy);
    if (ix !== this.cellX || iy !== this.cellY) {
      this.cellX = ix;
      this.cellY = iy;
      this.a = unit(this.seed, ix, iy);
      this.b = unit(this.seed, ix + 1, iy);
      this.c = unit(this.seed, ix, iy + 1);
      this.d = unit(this.seed, ix + 1, iy + 1);
    }
    const tx = fx - ix;
    const ty = fy - iy;
    const sx = tx * tx * (3 - 2 * tx);
    const sy = ty * ty * (3 - 2 * ty);
    const { a, b, c, d } = this;
    return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
  }
}

interface Gland {
  x: number;
  y: number;
  inner: number;
  outer: number;
}

interface Nucleus {
  x: number;
  y: number;
  radius: number;
  /** Radius modulation (irregular outline). */
  wobble: number;
  phase: number;
  elongation: number;
  angle: number;
  /** 0 pale to 1 dark. */
  darkness: number;
}

/** Draws slides of one spec; `tile(x, y, size)` gives RGB bytes, `colourAt` a coarse view. */
export class TissueRenderer {
  readonly spec: TissueSpec;
  private readonly centreX: number;
  private readonly centreY: number;
  private readonly radiusX: number;
  private readonly radiusY: number;
  private readonly phases: readonly number[];
  /** The fibres' direction, as its cosine and sine. */
  private readonly fibreCos: number;
  private readonly fibreSin: number;
  /** The outline's constant offset. */
  private readonly outlineOffset: number;
  private readonly pen: { x0: number; y0: number; dx: number; dy: number; colour: number[] };
  /** The noise fields: the outline's coarse and fine wobble, cellularity, fibre warp, patches. */
  private readonly outlineNoise: ValueNoise;
  private readonly outlineDetail: ValueNoise;
  private readonly cellularityNoise: ValueNoise;
  private readonly warpNoise: ValueNoise;
  private readonly patchNoise: ValueNoise;

  constructor(spec: TissueSpec) {
    this.spec = spec;
    const s = spec.seed;
    const scale = Math.min(spec.width, spec.height);
    this.outlineNoise = new ValueNoise(s + 11, scale / 5);
    this.outlineDetail = new ValueNoise(s + 12, scale / 20);
    this.cellularityNoise = new ValueNoise(s + 21, 420);
    this.warpNoise = new ValueNoise(s + 41, 90);
    this.patchNoise = new ValueNoise(s + 42, 160);
    this.centreX = spec.width * (0.45 + 0.1 * unit(s, 1, 0));
    this.centreY = spec.height * (0.45 + 0.1 * unit(s, 2, 0));
    this.radiusX = spec.width * (0.3 + 0.1 * unit(s, 3, 0));
    this.radiusY = spec.height * (0.3 + 0.1 * unit(s, 4, 0));
    this.phases = [0, 1, 2, 3].map((i) => 2 * Math.PI * unit(s, 5, i));
    this.outlineOffset = 0.05 * Math.sin(this.phases[2] ?? 0);
    const fibreAngle = Math.PI * unit(s, 6, 0);
    this.fibreCos = Math.cos(fibreAngle);
    this.fibreSin = Math.sin(fibreAngle);
    const fromLeft = unit(s, 7, 0) < 0.5;
    this.pen = {
      x0: fromLeft ? spec.width * 0.05 : spec.width * 0.95,
      y0: spec.height * (0.1 + 0.8 * unit(s, 7, 1)),
      dx: fromLeft ? 1 : -1,
      dy: 0.6 * (unit(s, 7, 2) - 0.5),
      colour: unit(s, 7, 3) < 0.5 ? [40, 110, 70] : [40, 70, 150],
    };
  }

  /** How far inside the tissue (x, y) is: positive inside, negative on the glass. */
  tissueDepth(x: number, y: number): number {
    const dx = (x - this.centreX) / this.radiusX;
    const dy = (y - this.centreY) / this.radiusY;
    const theta = Math.atan2(dy, dx);
    const [p0 = 0, p1 = 0] = this.phases;
    const edge = 1 + 0.14 * Math.sin(3 * theta + p0) + 0.08 * Math.sin(5 * theta + p1);
    const noise =
      0.35 * (this.outlineNoise.at(x, y) - 0.5) +
      0.12 * (this.outlineDetail.at(x, y) - 0.5) +
      this.outlineOffset;
    return edge - Math.sqrt(dx * dx + dy * dy) + noise;
  }

  /** Where tumour cells crowd: 0 to 1, high where severity is high. */
  private cellularity(x: number, y: number): number {
    const field = this.cellularityNoise.at(x, y);
    const s = this.spec.severity;
    return 0.06 + 0.55 * s * (0.4 + 0.6 * field) + 0.08 * field;
  }

  /** The stroma's colour at (x, y), and the glass's beyond the tissue (no cells). */
  baseColour(x: number, y: number, out: number[]): void {
    const depth = this.tissueDepth(x, y);
    const grain = (unit(this.spec.seed + 31, x, y) - 0.5) * 4;
    if (depth <= 0) {
      out[0] = GLASS[0] + grain;
      out[1] = GLASS[1] + grain;
      out[2] = GLASS[2] + grain;
      return;
    }
    const u = x * this.fibreCos + y * this.fibreSin;
    const warp = 6 * this.warpNoise.at(x, y);
    const fibre = 0.5 + 0.5 * Math.sin(u / 5 + warp);
    const patch = this.patchNoise.at(x, y);
    // Eosin: pale pink where fibres are thin, deeper pink where collagen is dense.
    const k = Math.min(1, 0.25 + 0.5 * fibre * patch + 0.35 * patch);
    const edgeFade = Math.min(1, depth * 12);
    const r = 246 - 30 * k;
    const g = 214 - 100 * k;
    const b = 232 - 62 * k;
    out[0] = GLASS[0] + (r - GLASS[0]) * edgeFade + grain;
    out[1] = GLASS[1] + (g - GLASS[1]) * edgeFade + grain;
    out[2] = GLASS[2] + (b - GLASS[2]) * edgeFade + grain;
  }

  /** The gland of grid cell (i, j), if it has one inside the tissue. */
  private gland(i: number, j: number): Gland | null {
    const s = this.spec.seed + 51;
    const chance = 0.1 + 0.5 * (1 - this.spec.severity);
    if (unit(s, i, j, 0) >= chance) {
      return null;
    }
    const x = (i + 0.2 + 0.6 * unit(s, i, j, 1)) * GLAND_GRID;
    const y = (j + 0.2 + 0.6 * unit(s, i, j, 2)) * GLAND_GRID;
    if (this.tissueDepth(x, y) < 0.15) {
      return null;
    }
    const outer = 45 + 60 * unit(s, i, j, 3);
    return { x, y, outer, inner: outer * (0.55 + 0.15 * unit(s, i, j, 4)) };
  }

  private nucleus(i: number, j: number, glands: readonly Gland[]): Nucleus | null {
    const s = this.spec.seed + 61;
    const x = (i + 0.15 + 0.7 * unit(s, i, j, 0)) * NUCLEUS_GRID;
    const y = (j + 0.15 + 0.7 * unit(s, i, j, 1)) * NUCLEUS_GRID;
    if (unit(s, i, j, 2) >= this.cellularity(x, y) || this.tissueDepth(x, y) < 0.02) {
      return null;
    }
    for (const gland of glands) {
      if (Math.hypot(x - gland.x, y - gland.y) < gland.outer + 3) {
        return null;
      }
    }
    return this.makeNucleus(x, y, s, i, j);
  }

  private makeNucleus(x: number, y: number, s: number, i: number, j: number): Nucleus {
    const severity = this.spec.severity;
    const pleomorphism = 0.15 + 0.6 * severity;
    return {
      x,
      y,
      radius: (2.8 + 2.6 * severity) * (1 + pleomorphism * (unit(s, i, j, 3) - 0.4)),
      wobble: 0.04 + 0.28 * severity * unit(s, i, j, 4),
      phase: 2 * Math.PI * unit(s, i, j, 5),
      elongation: 1 + (0.2 + 0.5 * severity) * unit(s, i, j, 6),
      angle: Math.PI * unit(s, i, j, 7),
      darkness: Math.min(1, 0.35 + 0.5 * severity + 0.25 * unit(s, i, j, 8)),
    };
  }

  /** The tile at column `tx`, row `ty` of level 0: `size` x `size` x 3 RGB bytes. */
  tile(tx: number, ty: number, size: number): Uint8Array {
    const left = tx * size;
    const top = ty * size;
    // Clamped: colours are computed in floating point and rounded into 0 to 255.
    const rgb = new Uint8ClampedArray(size * size * 3);
    const colour = [0, 0, 0];
    for (let y = 0; y < size; y += 1) {
      for (let x = 0; x < size; x += 1) {
        this.baseColour(left + x, top + y, colour);
        const at = (y * size + x) * 3;
        rgb[at] = colour[0] ?? 0;
        rgb[at + 1] = colour[1] ?? 0;
        rgb[at + 2] = colour[2] ?? 0;
      }
    }
    const glands: Gland[] = [];
    const margin = 120;
    for (
      let j = Math.floor((top - margin) / GLAND_GRID);
      j <= (top + size + margin) / GLAND_GRID;
      j += 1
    ) {
      for (
        let i = Math.floor((left - margin) / GLAND_GRID);
        i <= (left + size + margin) / GLAND_GRID;
        i += 1
      ) {
        const gland = this.gland(i, j);
        if (gland !== null) {
          glands.push(gland);
          this.drawGland(rgb, size, left, top, gland, i, j);
        }
      }
    }
    const reach = 12;
    for (
      let j = Math.floor((top - reach) / NUCLEUS_GRID);
      j <= (top + size + reach) / NUCLEUS_GRID;
      j += 1
    ) {
      for (
        let i = Math.floor((left - reach) / NUCLEUS_GRID);
        i <= (left + size + reach) / NUCLEUS_GRID;
        i += 1
      ) {
        const nucleus = this.nucleus(i, j, glands);
        if (nucleus !== null) {
          drawNucleus(rgb, size, left, top, nucleus);
        }
      }
    }
    if (this.spec.penMark) {
      this.drawPen(rgb, size, left, top);
    }
    return new Uint8Array(rgb.buffer);
  }

  private drawGland(
    rgb: Uint8ClampedArray,
    size: number,
    left: number,
    top: number,
    gland: Gland,
    i: number,
    j: number,
  ): void {
    const x0 = Math.max(0, Math.floor(gland.x - gland.outer - left));
    const x1 = Math.min(size - 1, Math.ceil(gland.x + gland.outer - left));
    const y0 = Math.max(0, Math.floor(gland.y - gland.outer - top));
    const y1 = Math.min(size - 1, Math.ceil(gland.y + gland.outer - top));
    for (let y = y0; y <= y1; y += 1) {
      for (let x = x0; x <= x1; x += 1) {
        const d = Math.hypot(left + x - gland.x, top + y - gland.y);
        if (d > gland.outer) {
          continue;
        }
        const at = (y * size + x) * 3;
        const lumen = d < gland.inner;
        rgb[at] = lumen ? 238 : 214;
        rgb[at + 1] = lumen ? 232 : 160;
        rgb[at + 2] = lumen ? 238 : 206;
      }
    }
    // Epithelial nuclei line the wall, one every 9 pixels of its circumference.
    const ring = (gland.inner + gland.outer) / 2;
    const count = Math.floor((2 * Math.PI * ring) / 9);
    const s = this.spec.seed + 71;
    for (let k = 0; k < count; k += 1) {
      const theta = (2 * Math.PI * k) / count + 0.3 * unit(s, i, j, k);
      const nucleus = this.makeNucleus(
        gland.x + ring * Math.cos(theta),
        gland.y + ring * Math.sin(theta),
        s,
        i * 1000 + k,
        j,
      );
      drawNucleus(rgb, size, left, top, { ...nucleus, angle: theta + Math.PI / 2 });
    }
  }

  private drawPen(rgb: Uint8ClampedArray, size: number, left: number, top: number): void {
    const { x0, y0, dx, dy, colour } = this.pen;
    const length = Math.hypot(dx, dy);
    for (let y = 0; y < size; y += 1) {
      for (let x = 0; x < size; x += 1) {
        const px = left + x - x0;
        const py = top + y - y0;
        const along = (px * dx + py * dy) / length;
        if (along < 0 || along > this.spec.width * 0.25) {
          continue;
        }
        const wobble = 6 * Math.sin(along / 40);
        const across = Math.abs((py * dx - px * dy) / length + wobble);
        if (across > 14) {
          continue;
        }
        const at = (y * size + x) * 3;
        for (let c = 0; c < 3; c += 1) {
          // Ink filters the light: a multiply, darker in the stroke's middle.
          const ink = 0.55 + 0.45 * (across / 14);
          rgb[at + c] = Math.round(
            ((rgb[at + c] ?? 0) * (colour[c] ?? 0) * (1 - ink)) / 255 +
              (rgb[at + c] ?? 0) * ink * 0.6,
          );
        }
      }
    }
  }
}

/** A haematoxylin-stained nucleus: an irregular ellipse, darker in its middle. */
function drawNucleus(
  rgb: Uint8ClampedArray,
  size: number,
  left: number,
  top: number,
  n: Nucleus,
): void {
  const reach = n.radius * n.elongation * (1 + n.wobble) + 1;
  const x0 = Math.max(0, Math.floor(n.x - reach - left));
  const x1 = Math.min(size - 1, Math.ceil(n.x + reach - left));
  const y0 = Math.max(0, Math.floor(n.y - reach - top));
  const y1 = Math.min(size - 1, Math.ceil(n.y + reach - top));
  const cos = Math.cos(n.angle);
  const sin = Math.sin(n.angle);
  const r = 150 - 90 * n.darkness;
  const g = 95 - 70 * n.darkness;
  const b = 185 - 60 * n.darkness;
  for (let y = y0; y <= y1; y += 1) {
    for (let x = x0; x <= x1; x += 1) {
      const dx = left + x - n.x;
      const dy = top + y - n.y;
      const u = (dx * cos + dy * sin) / n.elongation;
      const v = -dx * sin + dy * cos;
      const theta = Math.atan2(v, u);
      const edge =
        n.radius *
        (1 + n.wobble * Math.sin(3 * theta + n.phase) + 0.5 * n.wobble * Math.sin(5 * theta));
      const d = Math.hypot(u, v) / edge;
      if (d >= 1) {
        continue;
      }
      const at = (y * size + x) * 3;
      // Soft rim, chromatin darker towards the middle.
      const alpha = d > 0.8 ? (1 - d) / 0.2 : 1;
      const core = 1 - 0.15 * (1 - d);
      rgb[at] = (rgb[at] ?? 0) * (1 - alpha) + r * core * alpha;
      rgb[at + 1] = (rgb[at + 1] ?? 0) * (1 - alpha) + g * core * alpha;
      rgb[at + 2] = (rgb[at + 2] ?? 0) * (1 - alpha) + b * core * alpha;
    }
  }
}
