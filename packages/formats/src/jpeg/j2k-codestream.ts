/**
 * The marker structure of a JPEG 2000 codestream (ISO/IEC 15444-1 Annex A; 15444-15 keeps it),
 * walked before the codestream goes to a WebAssembly decoder: OpenJPEG decodes some codestreams
 * cut short without an error (it fills the missing code-blocks with zeros), so a frame truncated in
 * transit would come out as an image. The walk checks SOC, each main-header segment's length, each
 * tile-part (SOT, its header segments up to SOD, its Psot length against the bytes that are there;
 * Psot 0 is "to EOC", A.4.2), EOC after the last tile-part, and that every tile of the SIZ's grid
 * has its tile-parts (at least as many as TNsot says) and, where its tile-parts say how long each
 * packet is (PLT, A.7.3), all of its packets. It reads each header byte at most once and keeps a
 * few counts per tile seen, so it costs nothing next to the decode.
 *
 * What it cannot see: a tile that lost whole tile-parts when its SOTs do not say how many it has
 * (TNsot 0, or one fewer than written, as GDCM 3.0 writes) and no PLT counts its packets. Every
 * packet of a tile must be in the codestream (B.9, B.10), but where a tile-part's packets end and
 * how many there are is only known by decoding their headers (B.10: tag trees of code-block
 * inclusion, zero bit-planes, coding passes and lengths, per precinct and sub-band), which is the
 * decoder's tier-2 work; OpenJPEG reads the bits past a tile's data as zeros, that is as empty
 * packets, so it gives an image there too.
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
const COD = 0xff52;
const COC = 0xff53;
const PLT = 0xff58;
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
 * Walks the codestream that starts at `start` of `bytes` and ends at `end` (a JP2 file's `jp2c`
 * box ends it where later boxes follow; else the stream's end); null when its structure is whole,
 * else the first problem. Bytes after EOC (a JP2 file's later boxes, DICOM's even-length padding)
 * are not looked at.
 */
export function findJ2kStructureProblem(
  bytes: Uint8Array,
  start: number,
  declaredEnd = bytes.length,
): J2kStructureProblem | null {
  const truncated = (at: number, detail: string) => ({ at, isTruncated: true, detail });
  const malformed = (at: number, detail: string) => ({ at, isTruncated: false, detail });
  if (declaredEnd > bytes.length) {
    return truncated(
      bytes.length,
      `the codestream box (jp2c) declares ${declaredEnd - start} bytes, the stream has ${bytes.length - start}`,
    );
  }
  const end = declaredEnd;
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
  const grid: TileGrid = { siz: at, tilesAcross };
  const seen = new Map<number, TileSeen>();
  const mainCoding: CodingSegments = { cod: null, coc: [] };
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
    noteCoding(at, marker, mainCoding);
    at += 2 + u16(bytes, at + 2);
  }
  // Tile-parts (A.4.2), then EOC.
  for (;;) {
    if (at + 2 > end) {
      return truncated(at, 'the codestream ends without EOC (FFD9)');
    }
    const marker = u16(bytes, at);
    if (marker === EOC) {
      return missingTiles(bytes, at, tiles, grid, mainCoding, seen);
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
    const parts = seen.get(tile) ?? {
      parts: 0,
      declared: 0,
      packets: 0,
      coding: { cod: null, coc: [] },
    };
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
    // Its header: marker segments up to SOD, inside the tile-part. Coding style segments count
    // in a tile's first tile-part only (A.4.2); PLT lengths are summed, and a tile-part without
    // PLT leaves its tile's packets uncounted.
    let inner = at + 12;
    let packetBytes: number | null = null;
    for (;;) {
      if (inner + 2 > partEnd) {
        return malformed(inner, `the tile-part at byte ${at} has no SOD (FF93) before its end`);
      }
      const innerMarker = u16(bytes, inner);
      if (innerMarker === SOD) {
        break;
      }
      const problem = segmentProblem(bytes, inner, partEnd, 'tile-part header');
      if (problem !== null) {
        return problem;
      }
      if (innerMarker === PLT) {
        const lengths = readPacketLengths(bytes, inner);
        if (lengths === null) {
          return malformed(inner, `the packet lengths (PLT) at byte ${inner} end inside a length`);
        }
        packetBytes = (packetBytes ?? 0) + lengths.bytes;
        parts.packets = parts.packets === null ? null : parts.packets + lengths.count;
      } else if (bytes[at + 10] === 0) {
        noteCoding(inner, innerMarker, parts.coding);
      }
      inner += 2 + u16(bytes, inner + 2);
    }
    if (packetBytes === null) {
      parts.packets = null;
    } else if (inner + 2 + packetBytes > partEnd) {
      // A last tile-part (Psot 0) cut inside, with EOC put back, is seen here.
      return truncated(
        at,
        `the tile-part at byte ${at} holds ${partEnd - inner - 2} bytes of packets, its PLT says ${packetBytes}`,
      );
    }
    if (isLast) {
      return missingTiles(bytes, partEnd, tiles, grid, mainCoding, seen);
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

/** What the walk keeps of a tile: its tile-parts, their TNsot, packets counted, coding style. */
interface TileSeen {
  parts: number;
  /** How many tile-parts its SOTs declare (TNsot; 0 when they do not). */
  declared: number;
  /** Packets its tile-parts' PLT segments list; null once a tile-part without PLT is seen. */
  packets: number | null;
  /** COD and COC segments of its first tile-part's header, which override the main header's. */
  coding: CodingSegments;
}

/** Where the SIZ segment is (its marker's offset) and how many tiles a row of the grid has. */
interface TileGrid {
  siz: number;
  tilesAcross: number;
}

/** Where a header's coding style segments are: its COD, and its COCs (A.6.1, A.6.2). */
interface CodingSegments {
  cod: number | null;
  coc: number[];
}

/** Remembers where a COD or a COC segment is; the last of each counts. */
function noteCoding(at: number, marker: number, coding: CodingSegments): void {
  if (marker === COD) {
    coding.cod = at;
  } else if (marker === COC) {
    coding.coc.push(at);
  }
}

/** The packets a PLT segment (A.7.3) lists and their bytes; null when it ends inside a length. */
function readPacketLengths(bytes: Uint8Array, at: number): { count: number; bytes: number } | null {
  const end = at + 2 + u16(bytes, at + 2);
  let count = 0;
  let total = 0;
  let length = 0;
  let isOpen = false;
  // Iplt: 7 bits a byte, most significant first, the high bit set on all but a length's last.
  for (let i = at + 5; i < end; i += 1) {
    const byte = bytes[i] ?? 0;
    length = length * 128 + (byte & 0x7f);
    isOpen = (byte & 0x80) !== 0;
    if (!isOpen) {
      count += 1;
      total += length;
      length = 0;
    }
  }
  return isOpen ? null : { count, bytes: total };
}

/**
 * How many packets a tile has (B.6, B.9): layers times, for each component and resolution, the
 * precincts that its resolution's extent in the tile spans. The coding style is the tile's own
 * where its first tile-part has one, else the main header's, a COC before a COD (A.6). Null when
 * the segments needed are missing or of another length than they say, so nothing is counted.
 */
function packetCount(
  bytes: Uint8Array,
  grid: TileGrid,
  tile: number,
  main: CodingSegments,
  own: CodingSegments,
): number | null {
  const { siz, tilesAcross } = grid;
  const components = u16(bytes, siz + 38);
  const cod = own.cod ?? main.cod;
  if (cod === null || u16(bytes, siz + 2) !== 38 + 3 * components) {
    return null;
  }
  const wideIds = components > 256; // Ccoc is 2 bytes then (A.6.2)
  const cocFor = (coding: CodingSegments, component: number) =>
    coding.coc.findLast(
      (at) => (wideIds ? u16(bytes, at + 4) : (bytes[at + 4] ?? 0)) === component,
    );
  const p = tile % tilesAcross;
  const q = (tile - p) / tilesAcross;
  const [x0, x1] = tileSpan(
    u32(bytes, siz + 6),
    u32(bytes, siz + 14),
    u32(bytes, siz + 22),
    u32(bytes, siz + 30),
    p,
  );
  const [y0, y1] = tileSpan(
    u32(bytes, siz + 10),
    u32(bytes, siz + 18),
    u32(bytes, siz + 26),
    u32(bytes, siz + 34),
    q,
  );
  let precincts = 0;
  for (let c = 0; c < components; c += 1) {
    const coc = cocFor(own, c) ?? (own.cod === null ? cocFor(main, c) : undefined);
    // SPcod and SPcoc (A.6.1, A.6.2) alike: levels, code-block sizes, style, transform, precincts.
    const style =
      coc === undefined
        ? { at: cod, flags: bytes[cod + 4] ?? 0, sp: cod + 9 }
        : { at: coc, flags: bytes[coc + (wideIds ? 6 : 5)] ?? 0, sp: coc + (wideIds ? 7 : 6) };
    const levels = bytes[style.sp] ?? 0;
    const hasPrecincts = (style.flags & 1) !== 0;
    if (
      style.sp + 5 + (hasPrecincts ? levels + 1 : 0) !==
      style.at + 2 + u16(bytes, style.at + 2)
    ) {
      return null;
    }
    const dx = bytes[siz + 41 + 3 * c] ?? 1;
    const dy = bytes[siz + 42 + 3 * c] ?? 1;
    for (let r = 0; r <= levels; r += 1) {
      const scale = 2 ** (levels - r);
      const sizes = hasPrecincts ? (bytes[style.sp + 5 + r] ?? 0) : 0xff;
      const across = precinctsSpanned(x0, x1, dx * scale, 2 ** Math.min(sizes & 15, 15));
      const down = precinctsSpanned(y0, y1, dy * scale, 2 ** Math.min(sizes >> 4, 15));
      precincts += across * down;
    }
  }
  return u16(bytes, cod + 6) * precincts;
}

/** Where tile `p` of a row (or a column) starts and ends on the reference grid (B.3). */
function tileSpan(
  extent: number,
  offset: number,
  size: number,
  tileOffset: number,
  p: number,
): [number, number] {
  return [Math.max(tileOffset + p * size, offset), Math.min(tileOffset + (p + 1) * size, extent)];
}

/**
 * Precincts of `size` that a resolution's span covers (B.6): the tile's span on the reference grid
 * divided by `divisor` (the component's subsampling times 2 to the levels below), rounded up.
 */
function precinctsSpanned(start: number, end: number, divisor: number, size: number): number {
  const from = Math.ceil(start / divisor);
  const to = Math.ceil(end / divisor);
  return to > from ? Math.ceil(to / size) - Math.floor(from / size) : 0;
}

/**
 * At EOC: every tile has its tile-parts (at least as many as its SOTs declare) and, where PLT
 * segments count them, its packets; else the codestream lost whole tile-parts, which a decoder
 * would fill with zeros.
 */
function missingTiles(
  bytes: Uint8Array,
  at: number,
  tiles: number,
  grid: TileGrid,
  mainCoding: CodingSegments,
  seen: ReadonlyMap<number, TileSeen>,
): J2kStructureProblem | null {
  if (seen.size !== tiles) {
    return {
      at,
      isTruncated: true,
      detail: `the codestream ends (EOC) with ${seen.size} of its ${tiles} tiles`,
    };
  }
  for (const [tile, { parts, declared, packets, coding }] of seen) {
    // Fewer than declared only: some writers (GDCM 3.0) declare one tile-part fewer than they
    // write.
    if (parts < declared) {
      return {
        at,
        isTruncated: true,
        detail: `the codestream ends (EOC) with ${parts} of the ${declared} tile-parts of tile ${tile}`,
      };
    }
    const expected = packets === null ? null : packetCount(bytes, grid, tile, mainCoding, coding);
    if (packets !== null && expected !== null && packets < expected) {
      return {
        at,
        isTruncated: true,
        detail: `the codestream ends (EOC) with ${packets} of the ${expected} packets of tile ${tile} (PLT)`,
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
