/**
 * The marker structure of a JPEG 2000 codestream (ISO/IEC 15444-1 Annex A; 15444-15 keeps it),
 * walked before the codestream goes to a WebAssembly decoder: OpenJPEG decodes some codestreams
 * cut short without an error (it fills the missing code-blocks with zeros), so a frame truncated in
 * transit would come out as an image. The walk checks SOC, each main-header segment's length, each
 * tile-part (SOT, its header segments up to SOD, its Psot length against the bytes that are there;
 * Psot 0 is "to EOC", A.4.2), EOC after the last tile-part, and that every tile of the SIZ's grid
 * has its tile-parts (at least as many as TNsot says). It reads each header byte at most
 * once and keeps a count per tile seen, so it costs nothing next to the decode.
 */

/** Where the structure breaks, from the codestream's first byte, and what breaks there. */
export interface J2kStructureProblem {
  /** Byte offset in the stream given (the codestream's own offset included). */
  at: number;
  /** The codestream ends before what it declares (else: a malformed marker or segment). */
  isTruncated: boolean;
  detail: string;
}

const SOC = 0xff4f;
const SIZ = 0xff51;
const SOT = 0xff90;
const SOD = 0xff93;
const EOC = 0xffd9;

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

function u32(bytes: Uint8Array, at: number): number {
  return u16(bytes, at) * 65_536 + u16(bytes, at + 2);
}

/**
 * Walks the codestream that starts at `start` of `bytes`; null when its structure is whole, else
 * the first problem. Bytes after EOC (a JP2 file's later boxes, DICOM's even-length padding) are
 * not looked at.
 */
export function findJ2kStructureProblem(
  bytes: Uint8Array,
  start: number,
): J2kStructureProblem | null {
  const end = bytes.length;
  const truncated = (at: number, detail: string) => ({ at, isTruncated: true, detail });
  const malformed = (at: number, detail: string) => ({ at, isTruncated: false, detail });
  if (start + 2 > end || u16(bytes, start) !== SOC) {
    return malformed(start, 'the codestream does not start with SOC (FF4F)');
  }
  // Main header (A.4.1): marker segments, each with a length, up to the first SOT; SIZ first.
  let at = start + 2;
  if (at + 40 > end || u16(bytes, at) !== SIZ || at + 2 + u16(bytes, at + 2) > end) {
    return truncated(at, 'the codestream ends in its image and tile size (SIZ)');
  }
  const tilesAcross = tileCount(u32(bytes, at + 6), u32(bytes, at + 22), u32(bytes, at + 30));
  const tilesDown = tileCount(u32(bytes, at + 10), u32(bytes, at + 26), u32(bytes, at + 34));
  if (tilesAcross === null || tilesDown === null) {
    return malformed(at, 'the SIZ declares tiles that do not cover the image (A.5.1)');
  }
  const tiles = tilesAcross * tilesDown;
  /** Each tile's tile-parts seen, and how many its SOTs declare (TNsot, 0 when they do not). */
  const seen = new Map<number, { parts: number; declared: number }>();
  for (;;) {
    if (at + 2 > end) {
      return truncated(at, 'the codestream ends in its main header');
    }
    const marker = u16(bytes, at);
    if (marker === SOT) {
      break;
    }
    const problem = segmentProblem(bytes, at, end, 'main header');
    if (problem !== null) {
      return problem;
    }
    at += 2 + u16(bytes, at + 2);
  }
  // Tile-parts (A.4.2), then EOC.
  for (;;) {
    if (at + 2 > end) {
      return truncated(at, 'the codestream ends without EOC (FFD9)');
    }
    const marker = u16(bytes, at);
    if (marker === EOC) {
      return missingTiles(at, tiles, seen);
    }
    if (marker !== SOT) {
      return malformed(
        at,
        `byte ${at} holds 0x${marker.toString(16).toUpperCase()}, not SOT (FF90) or EOC (FFD9)`,
      );
    }
    if (at + 12 > end) {
      return truncated(at, `the codestream ends in the tile-part header (SOT) at byte ${at}`);
    }
    if (u16(bytes, at + 2) !== 10) {
      return malformed(at, `the SOT at byte ${at} declares ${u16(bytes, at + 2)} bytes, not 10`);
    }
    const tile = u16(bytes, at + 4);
    if (tile >= tiles) {
      return malformed(at, `the tile-part at byte ${at} is of tile ${tile}, of ${tiles}`);
    }
    const parts = seen.get(tile) ?? { parts: 0, declared: 0 };
    parts.parts += 1;
    parts.declared = Math.max(parts.declared, bytes[at + 11] ?? 0);
    seen.set(tile, parts);
    const psot = u32(bytes, at + 6);
    const isLast = psot === 0;
    // Psot 0: the tile-part runs to EOC, which ends the codestream (A.4.2); DICOM pads a
    // fragment to an even length with at most one byte after it.
    let partEnd = at + psot;
    if (isLast) {
      const trimmed =
        end > 0 && bytes[end - 1] === 0 && u16(bytes, end - 3) === EOC ? end - 1 : end;
      if (trimmed - at < 16 || u16(bytes, trimmed - 2) !== EOC) {
        return truncated(at, `the last tile-part (Psot 0) at byte ${at} does not end with EOC`);
      }
      partEnd = trimmed - 2;
    } else if (psot < 14) {
      return malformed(at, `the tile-part at byte ${at} declares ${psot} bytes, fewer than 14`);
    } else if (partEnd > end) {
      return truncated(
        at,
        `the tile-part at byte ${at} declares ${psot} bytes, the codestream has ${end - at} from there`,
      );
    }
    // Its header: marker segments up to SOD, inside the tile-part.
    let inner = at + 12;
    for (;;) {
      if (inner + 2 > partEnd) {
        return malformed(inner, `the tile-part at byte ${at} has no SOD (FF93) before its end`);
      }
      if (u16(bytes, inner) === SOD) {
        break;
      }
      const problem = segmentProblem(bytes, inner, partEnd, 'tile-part header');
      if (problem !== null) {
        return problem;
      }
      inner += 2 + u16(bytes, inner + 2);
    }
    if (isLast) {
      return missingTiles(partEnd, tiles, seen);
    }
    at = partEnd;
  }
}

/** Tiles across (or down): ceil((image extent - tile offset) / tile size); null when malformed. */
function tileCount(extent: number, size: number, offset: number): number | null {
  if (size === 0 || offset >= extent) {
    return null;
  }
  return Math.ceil((extent - offset) / size);
}

/**
 * At EOC: every tile has its tile-parts (at least as many as its SOTs declare), else the
 * codestream lost whole tile-parts, which a decoder would fill with zeros.
 */
function missingTiles(
  at: number,
  tiles: number,
  seen: ReadonlyMap<number, { parts: number; declared: number }>,
): J2kStructureProblem | null {
  if (seen.size !== tiles) {
    return {
      at,
      isTruncated: true,
      detail: `the codestream ends (EOC) with ${seen.size} of its ${tiles} tiles`,
    };
  }
  for (const [tile, { parts, declared }] of seen) {
    // Fewer than declared only: some writers (GDCM 3.0) declare one tile-part fewer than they
    // write.
    if (parts < declared) {
      return {
        at,
        isTruncated: true,
        detail: `the codestream ends (EOC) with ${parts} of the ${declared} tile-parts of tile ${tile}`,
      };
    }
  }
  return null;
}

/** A header marker segment at `at` that is not a marker, or whose length runs past `end`. */
function segmentProblem(
  bytes: Uint8Array,
  at: number,
  end: number,
  where: string,
): J2kStructureProblem | null {
  const marker = u16(bytes, at);
  if (marker >> 8 !== 0xff || (marker & 0xff) < 0x30) {
    return {
      at,
      isTruncated: false,
      detail: `byte ${at} of the ${where} holds 0x${marker.toString(16).toUpperCase()}, not a marker`,
    };
  }
  if (at + 4 > end) {
    return { at, isTruncated: true, detail: `the ${where} ends in the marker at byte ${at}` };
  }
  const length = u16(bytes, at + 2);
  if (length < 2) {
    return {
      at,
      isTruncated: false,
      detail: `the segment at byte ${at} of the ${where} declares ${length} bytes`,
    };
  }
  if (at + 2 + length > end) {
    return {
      at,
      isTruncated: true,
      detail: `the segment at byte ${at} of the ${where} declares ${length} bytes, past its end`,
    };
  }
  return null;
}
