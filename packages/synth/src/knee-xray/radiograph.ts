/**
 * Knee radiographs drawn from anatomy: the femur and tibia as smooth bright shapes with a cortical
 * rim and a darker medullary canal, the condyles and tibial plateau, the fibular head, the patella
 * (faint through the femur on AP and PA, in front of it on a lateral, above the trochlear groove on a
 * skyline), the soft-tissue envelope, film-like noise, the anode heel and a collimation edge.
 *
 * Osteoarthritis shows as it does on film (Kellgren and Lawrence, 1957): the joint space narrows
 * with the grade, medially most; osteophytes grow at the margins from grade 2; the subchondral bone
 * becomes sclerotic from grade 3. Distances are in millimetres; values are 12-bit, bright where the
 * beam was attenuated (MONOCHROME2); the writer inverts them for MONOCHROME1 devices.
 */
import { Random } from '../random.js';
import { type Knee, type KneeView } from './cohort.js';

export interface RadiographSpec {
  view: KneeView;
  knee: Knee;
  klGrade: number;
  /** Text the device burned into the pixels (top left), or null. */
  burnedInText: string | null;
}

export interface Radiograph {
  rows: number;
  columns: number;
  /** Millimetres between pixel centres (row, column). */
  pixelSpacing: number;
  /** rows x columns stored values, 12 bits in 16. */
  pixels: Uint16Array;
}

/** The image size of a view at 0.35 mm per pixel: AP, PA and lateral are portrait, skylines landscape. */
export function radiographSize(view: KneeView): { rows: number; columns: number } {
  return view === 'SKYLINE' ? { rows: 320, columns: 384 } : { rows: 448, columns: 384 };
}

export const RADIOGRAPH_PIXEL_SPACING = 0.35;
const MAX_VALUE = 4095;

/** Depth inside an ellipse, roughly in millimetres (negative outside). */
function ellipseDepth(x: number, y: number, cx: number, cy: number, a: number, b: number): number {
  const u = (x - cx) / a;
  const v = (y - cy) / b;
  return (1 - Math.sqrt(u * u + v * v)) * Math.min(a, b);
}

function smoothstep(edge0: number, edge1: number, value: number): number {
  const t = Math.min(1, Math.max(0, (value - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
}

/** The attenuation of bone at a depth inside it: a blurred edge, a bright cortex, cancellous within. */
function boneAt(depth: number, cortex: number): number {
  if (depth < -0.8) {
    return 0;
  }
  const edge = smoothstep(-0.8, 0.8, depth);
  return edge * (0.45 + 0.55 * Math.exp(-Math.max(depth, 0) / cortex));
}

/** The shape of one knee in one view: what attenuates the beam at (x, y), in millimetres. */
interface Anatomy {
  bone(x: number, y: number): number;
  softTissue(x: number, y: number): number;
}

/** Joint space widths (mm), medial and lateral compartments, for a grade. */
function jointSpace(random: Random, kl: number): { medial: number; lateral: number } {
  return {
    medial: Math.max(0.4, 5.4 - 1.15 * kl + random.normal(0, 0.3)),
    lateral: Math.max(1.6, 6.0 - 0.35 * kl + random.normal(0, 0.3)),
  };
}

/** AP or PA: medial at +x. */
function frontalAnatomy(random: Random, kl: number): Anatomy {
  const gap = jointSpace(random, kl);
  const osteophyte = kl >= 2 ? 1.2 + 1.1 * (kl - 1) : 0;
  const sclerosis = kl >= 3 ? 0.22 * (kl - 2) : 0;
  const tilt = random.normal(0, 0.02);
  const plateauTop = (x: number) =>
    (x > 0 ? gap.medial : gap.lateral) / 2 - 3.5 * Math.exp(-(((Math.abs(x) - 4) / 2.2) ** 2));
  return {
    bone(x0, y) {
      const x = x0 + tilt * y;
      // Femur: shaft, metaphysis, two condyles, the intercondylar notch cut out.
      const condyleLine = -gap.lateral / 2 - 13;
      const femurHalfWidth = 15 + 22 * smoothstep(-75, -18, y);
      const femurBody = Math.min(femurHalfWidth - Math.abs(x), condyleLine - y);
      const medialCondyle = ellipseDepth(x, y, 19, -gap.medial / 2 - 13, 17, 13);
      const lateralCondyle = ellipseDepth(x, y, -19, -gap.lateral / 2 - 13, 17, 13);
      const femurSpurs =
        osteophyte > 0
          ? Math.max(
              ellipseDepth(x, y, 35.5, -gap.medial / 2 - 5, osteophyte, 2.6),
              ellipseDepth(x, y, -35.5, -gap.lateral / 2 - 5, osteophyte * 0.6, 2.4),
            )
          : -99;
      const notch = ellipseDepth(x, y, 0, -gap.lateral / 2 - 3, 6, 11);
      const femurDepth = Math.min(
        Math.max(femurBody, medialCondyle, lateralCondyle, femurSpurs),
        -notch,
      );
      const femur = boneAt(femurDepth, 1.6 + 1.8 * smoothstep(-30, -70, y));
      // Tibia: plateau with its spines, tapering to the shaft; spurs at the plateau margins.
      const top = plateauTop(x);
      const halfWidth = 38 - 22 * smoothstep(top + 14, top + 48, y);
      const tibiaBody = Math.min(y - top, halfWidth - Math.abs(x));
      const tibiaSpurs =
        osteophyte > 0
          ? Math.max(
              ellipseDepth(x, y, 38.5, gap.medial / 2 + 2, osteophyte, 2.2),
              ellipseDepth(x, y, -38.5, gap.lateral / 2 + 2, osteophyte * 0.6, 2.2),
            )
          : -99;
      const tibiaDepth = Math.max(tibiaBody, tibiaSpurs);
      let tibia = boneAt(tibiaDepth, 1.6 + 1.8 * smoothstep(top + 25, top + 60, y));
      if (sclerosis > 0 && x > 0 && tibiaDepth > 0) {
        tibia += sclerosis * Math.exp(-(y - top) / 4);
      }
      const femurSclerosis =
        sclerosis > 0 && x > 0 && femurDepth > 0 ? sclerosis * Math.exp(-femurDepth / 4) : 0;
      // Fibular head and shaft, lateral and below the plateau; the patella faint through the femur.
      const fibula = boneAt(
        Math.max(
          ellipseDepth(x, y, -33, gap.lateral / 2 + 24, 7, 9),
          y > gap.lateral / 2 + 28 ? 5 - Math.abs(x + 31 - 0.04 * y) : -99,
        ),
        1.4,
      );
      const patella = 0.3 * boneAt(ellipseDepth(x, y, 3, -gap.medial / 2 - 24, 21, 24), 2.5);
      return femur + femurSclerosis + tibia + 0.8 * fibula + patella;
    },
    softTissue(x, y) {
      const halfWidth = 62 + 5 * Math.sin(y / 40);
      return smoothstep(-3, 6, halfWidth - Math.abs(x)) * Math.sqrt(Math.max(0, 1 - (x / 70) ** 2));
    },
  };
}

/** Lateral, knee flexed a little: anterior at -x. */
function lateralAnatomy(random: Random, kl: number): Anatomy {
  const gap = jointSpace(random, kl);
  const jsw = (gap.medial + gap.lateral) / 2;
  const osteophyte = kl >= 2 ? 1 + (kl - 1) : 0;
  const flex = random.uniform(0.08, 0.2);
  return {
    bone(x, y) {
      // The femur leans forward above the joint, the tibia back below it.
      const fx = x + flex * Math.min(0, y);
      const tx = x - flex * 0.5 * Math.max(0, y);
      const condyle = ellipseDepth(fx, y, 0, -jsw / 2 - 22, 24, 22);
      const femurHalfWidth = 14 + 10 * smoothstep(-75, -25, y);
      const femurDepth = Math.max(
        Math.min(femurHalfWidth - Math.abs(fx), -jsw / 2 - 22 - y),
        condyle,
        osteophyte > 0 ? ellipseDepth(fx, y, 22, -jsw / 2 - 6, osteophyte, 3) : -99,
      );
      // The other condyle, a slightly offset second contour.
      const otherCondyle = 0.35 * boneAt(ellipseDepth(fx, y, 3, -jsw / 2 - 20.5, 23, 21), 1.5);
      const femur = boneAt(femurDepth, 1.6 + 1.6 * smoothstep(-35, -75, y)) + otherCondyle;
      const top = jsw / 2 + 0.06 * tx;
      const halfWidth = 31 - 17 * smoothstep(top + 12, top + 45, y);
      const tibiaDepth = Math.max(
        Math.min(y - top, halfWidth - Math.abs(tx)),
        ellipseDepth(tx, y, -25, top + 26, 6, 10),
        osteophyte > 0 ? ellipseDepth(tx, y, -31, top + 1.5, osteophyte, 2) : -99,
      );
      const tibia = boneAt(tibiaDepth, 1.6 + 1.6 * smoothstep(top + 25, top + 60, y));
      const fibula = 0.6 * boneAt(ellipseDepth(tx, y, 16, top + 22, 7, 8), 1.4);
      const patellaGap = Math.max(0.8, 4.5 - 0.8 * kl);
      const patella = boneAt(ellipseDepth(fx, y, -34 - patellaGap, -jsw / 2 - 24, 9, 21), 1.6);
      return femur + tibia + fibula + patella;
    },
    softTissue(x, y) {
      const halfWidth = 56 + 4 * Math.sin(y / 35);
      return (
        smoothstep(-3, 6, halfWidth - Math.abs(x + 6)) *
        Math.sqrt(Math.max(0, 1 - ((x + 6) / 64) ** 2))
      );
    },
  };
}

/** Skyline (Merchant): the patella above the trochlear groove, seen from below. */
function skylineAnatomy(random: Random, kl: number): Anatomy {
  const gap = Math.max(0.8, 4.5 - 0.8 * kl + random.normal(0, 0.3));
  const groove = (x: number) => 2 + 10 * Math.exp(-((x / 15) ** 2)) + 0.006 * x * x;
  const tilt = random.normal(0, 0.05);
  return {
    bone(x, y) {
      const femurDepth = Math.min(y - (12 - groove(x)) - 10, 44 - Math.abs(x), 60 - y);
      const femur = boneAt(femurDepth, 1.8);
      const py = y + tilt * x;
      const patella = boneAt(
        Math.min(ellipseDepth(x, py, 2, -gap - 10, 23, 10), -gap - Math.abs(x) * 0.35 - py + 2),
        1.6,
      );
      return femur + patella;
    },
    softTissue(x, y) {
      return smoothstep(-3, 6, ellipseDepth(x, y, 0, 8, 62, 48));
    },
  };
}

function anatomyOf(view: KneeView, random: Random, kl: number): Anatomy {
  switch (view) {
    case 'AP':
    case 'PA':
      return frontalAnatomy(random, kl);
    case 'LATERAL':
      return lateralAnatomy(random, kl);
    case 'SKYLINE':
      return skylineAnatomy(random, kl);
    default:
      return view satisfies never;
  }
}

/** Renders one radiograph from its own seed. */
export function renderRadiograph(spec: RadiographSpec, seed: number): Radiograph {
  const random = new Random(seed);
  const { rows, columns } = radiographSize(spec.view);
  const spacing = RADIOGRAPH_PIXEL_SPACING;
  const anatomy = anatomyOf(spec.view, random, spec.klGrade);
  // Where the joint is in the field, how bright the exposure, where the collimator's blades are.
  const centerRow = rows / 2 + random.normal(0, 8);
  const centerColumn = columns / 2 + random.normal(0, 8);
  const mirror = spec.knee === 'L' ? -1 : 1;
  const boneGain = random.uniform(1700, 2100);
  const softGain = random.uniform(700, 950);
  const air = random.uniform(180, 320);
  const blades = {
    top: random.integer(4, 30),
    bottom: rows - random.integer(4, 30),
    left: random.integer(4, 30),
    right: columns - random.integer(4, 30),
  };
  const pixels = new Uint16Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    const y = (r - centerRow) * spacing;
    const heel = 1 - 0.07 * (r / rows);
    for (let c = 0; c < columns; c++) {
      const isCollimated =
        r < blades.top || r >= blades.bottom || c < blades.left || c >= blades.right;
      let value: number;
      if (isCollimated) {
        value = 3600 + random.normal(0, 18);
      } else {
        const x = (c - centerColumn) * spacing * mirror;
        const attenuation =
          air + softGain * anatomy.softTissue(x, y) + boneGain * anatomy.bone(x, y);
        value = attenuation * heel + random.normal(0, 14 + 0.012 * attenuation);
      }
      pixels[r * columns + c] = Math.min(MAX_VALUE, Math.max(0, Math.round(value)));
    }
  }
  if (spec.burnedInText !== null) {
    burnIn(pixels, columns, spec.burnedInText, blades.left + 8, blades.top + 8);
  }
  return { rows, columns, pixelSpacing: spacing, pixels };
}

/**
 * Burns text into the pixels as a device does: white 5x7 glyphs, doubled, on a dark box. The glyphs
 * are drawn from each character's code (text-like strokes, not a font), the same for the same text.
 */
function burnIn(
  pixels: Uint16Array,
  columns: number,
  text: string,
  left: number,
  top: number,
): void {
  const scale = 2;
  const cell = 6 * scale;
  const boxRows = 9 * scale;
  for (let r = top - 2; r < top + boxRows; r++) {
    for (let c = left - 2; c < left + text.length * cell + 2; c++) {
      const at = r * columns + c;
      if (c < columns && at < pixels.length) {
        pixels[at] = 120;
      }
    }
  }
  [...text].forEach((char, index) => {
    if (char === ' ') {
      return;
    }
    let bits = Math.imul(char.charCodeAt(0) + 0x9e37, 0x85ebca6b) >>> 0;
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        // A stroke at the glyph's edge or its middle row, where the character's bits say.
        const isStroke = gx === 0 || gx === 4 || gy === 0 || gy === 3 || gy === 6;
        const isOn = isStroke && (bits & 1) === 1;
        bits = (bits >>> 1) | ((bits & 1) << 31);
        if (!isOn) {
          continue;
        }
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const c = left + index * cell + gx * scale + dx;
            const at = (top + gy * scale + dy) * columns + c;
            if (c < columns && at < pixels.length) {
              pixels[at] = 4000;
            }
          }
        }
      }
    }
  });
}
