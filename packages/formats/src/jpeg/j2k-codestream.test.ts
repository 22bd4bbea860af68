import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TAG } from '../dicom/dictionary.js';
import { readDicom, type DicomFile } from '../dicom/parse.js';
import { decodeFrame, readImageInfo } from '../dicom/pixels.js';
import { FormatError } from '../format-error.js';
import { errorOf } from '../testing/error-of.js';
import { findJ2kStructureProblem } from './j2k-codestream.js';
import { decodeJ2kSamples, readJ2kHeader, type J2kHeader } from './openjpeg.js';

/** Files written by others, shipped by Debian's python3-pydicom (scripts/debian-packages.sh test). */
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
const FILES = [
  'JPEG2000.dcm',
  '693_J2KI.dcm',
  'J2K_pixelrep_mismatch.dcm',
  'GDCMJ2K_TextGBR.dcm',
  'MR_small_jp2klossless.dcm',
];

const pydicomFile = (name: string) => readDicom(readFileSync(PYDICOM + name), { name });

/** Written by OpenJPEG's opj_compress with PLT: fixtures/jpeg2000/README.md. */
const FIXTURES = new URL('../../fixtures/jpeg2000/', import.meta.url);
const fixture = (name: string) => readDicom(readFileSync(new URL(name, FIXTURES)), { name });

/** The codestream of a file's first frame and where it starts in the file. */
function streamOf(file: DicomFile): { offset: number; bytes: Uint8Array; header: J2kHeader } {
  const fragment = file.dataset
    .get(TAG.PixelData)
    ?.encapsulated?.fragments.find((f) => f.bytes.length > 0);
  const header = fragment === undefined ? null : readJ2kHeader(fragment.bytes);
  if (fragment === undefined || header === null) {
    throw new Error(`${file.name} has no JPEG 2000 fragment`);
  }
  return { ...fragment, header };
}

/** Where each tile-part (SOT) starts, by walking Psot from the first. */
function tileParts(bytes: Uint8Array): number[] {
  let at = bytes.findIndex((byte, i) => byte === 0xff && bytes[i + 1] === 0x90);
  const starts: number[] = [];
  while (bytes[at] === 0xff && bytes[at + 1] === 0x90) {
    starts.push(at);
    const psot = new DataView(bytes.buffer, bytes.byteOffset + at + 6, 4).getUint32(0);
    at += psot;
  }
  return starts;
}

/**
 * The file with the fragment at `offset` (of `length` bytes) replaced by `stream`, padded to an
 * even length, its item's length fixed up: a frame cut short by a writer that kept the file
 * well-formed.
 */
function withFragment(whole: Buffer, offset: number, length: number, stream: Uint8Array): Buffer {
  const padded = Buffer.concat([stream, Buffer.alloc(stream.length % 2)]);
  const itemLength = Buffer.alloc(4);
  itemLength.writeUInt32LE(padded.length);
  return Buffer.concat([
    whole.subarray(0, offset - 4),
    itemLength,
    padded,
    whole.subarray(offset + length),
  ]);
}

/** A copy of a codestream with every SOT's TNsot set to `count(declared)`. */
function withTileParts(bytes: Uint8Array, count: (declared: number) => number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  for (const start of tileParts(copy)) {
    copy[start + 11] = count(copy[start + 11] ?? 0);
  }
  return copy;
}

/** The packets the PLT of the tile-part at `start` lists (its first header segment, A.7.3). */
function packetsOf(bytes: Uint8Array, start: number): number {
  const length = ((bytes[start + 14] ?? 0) << 8) | (bytes[start + 15] ?? 0);
  return bytes.subarray(start + 17, start + 14 + length).filter((byte) => byte < 0x80).length;
}

/** Where the codestream's EOC ends (DICOM may pad a byte after it). */
function endOf(bytes: Uint8Array): number {
  let at = bytes.length - 2;
  while (!(bytes[at] === 0xff && bytes[at + 1] === 0xd9)) {
    at -= 1;
  }
  return at + 2;
}

describe('JPEG 2000 codestream structure', () => {
  it.each(FILES)('finds the structure of %s whole', (name) => {
    const { bytes, header } = streamOf(pydicomFile(name));
    expect(findJ2kStructureProblem(bytes, header.codestreamOffset)).toBeNull();
    expect(tileParts(bytes).length).toBeGreaterThan(0);
  });

  it.each(FILES)('finds every truncation of %s, and says where', (name) => {
    const { bytes, header } = streamOf(pydicomFile(name));
    // Every cut in the headers and around each tile-part's start, and 60 more through the data.
    const cuts = new Set<number>();
    for (let cut = header.codestreamOffset + 2; cut < Math.min(bytes.length, 400); cut += 1) {
      cuts.add(cut);
    }
    for (const start of tileParts(bytes)) {
      for (let delta = -2; delta < 16; delta += 1) {
        cuts.add(start + delta);
      }
    }
    for (let cut = 0; cut < bytes.length; cut += Math.ceil(bytes.length / 60)) {
      cuts.add(cut);
    }
    const end = endOf(bytes);
    cuts.add(end - 1);
    for (const cut of [...cuts].filter((c) => c >= header.codestreamOffset + 2 && c < end)) {
      const problem = findJ2kStructureProblem(bytes.subarray(0, cut), header.codestreamOffset);
      expect(problem, `cut at ${cut}`).not.toBeNull();
      expect(problem?.isTruncated, `cut at ${cut}: ${problem?.detail}`).toBe(true);
      expect(problem?.at).toBeLessThanOrEqual(cut);
    }
  });

  it('regression: OpenJPEG decodes cut-short tiled codestreams without an error; decodeFrame refuses them', () => {
    // GDCM's 16-tile colour image: cut at a tile-part's start or inside one, with EOC put back or
    // not, OpenJPEG 2.5 gives an image for some cuts, zeros where the tiles were.
    const name = 'GDCMJ2K_TextGBR.dcm';
    const file = pydicomFile(name);
    const { offset, bytes, header } = streamOf(file);
    const info = readImageInfo(file);
    const size = { width: info.columns, height: info.rows, components: info.samplesPerPixel };
    const eoc = Uint8Array.from([0xff, 0xd9]);
    const quietlyDecoded: Uint8Array[] = [];
    // Cut before the 80th tile-part: GDCM declares 5 tile-parts a tile (TNsot) and writes 6, and
    // writes no PLT, so a cut at the sixth with EOC put back cannot be told from a whole
    // codestream without decoding packet headers (j2k-codestream.ts says why).
    const starts = tileParts(bytes)
      .slice(1, 80)
      .filter((_, i) => i % 3 === 0);
    for (const cut of [...starts, ...starts.map((start) => start + 20)]) {
      for (const cutShort of [
        bytes.subarray(0, cut),
        Uint8Array.from([...bytes.subarray(0, cut), ...eoc]),
      ]) {
        if (errorOf(() => decodeJ2kSamples(cutShort, header, size)) === null) {
          quietlyDecoded.push(cutShort);
        }
      }
    }
    expect(quietlyDecoded.length).toBeGreaterThan(0);
    const whole = readFileSync(PYDICOM + name);
    for (const cutShort of quietlyDecoded) {
      const damaged = withFragment(whole, offset, bytes.length, cutShort);
      const error = errorOf(() => decodeFrame(readDicom(damaged, { name })));
      expect(error, `cut at ${cutShort.length}`).toBeInstanceOf(FormatError);
      expect((error as FormatError).code).toBe('truncated');
      expect((error as FormatError).offset).toBe(offset);
      expect((error as FormatError).detail).toMatch(/^the JPEG 2000 codestream is cut short: /);
    }
  });

  it('refuses a frame whose fragment is cut short in the file as truncated, naming the byte', () => {
    const name = 'MR_small_jp2klossless.dcm';
    const whole = readFileSync(PYDICOM + name);
    const { offset, bytes } = streamOf(pydicomFile(name));
    const [first] = tileParts(bytes);
    const shortened = withFragment(
      whole,
      offset,
      bytes.length,
      bytes.subarray(0, bytes.length - 100),
    );
    const error = errorOf(() => decodeFrame(readDicom(shortened, { name })));
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).code).toBe('truncated');
    expect((error as FormatError).detail).toContain(
      `the tile-part at byte ${first ?? -1} declares`,
    );
  });

  it('reads Psot 0 as "to EOC" in the last tile-part, and decodes the same', () => {
    const file = pydicomFile('MR_small_jp2klossless.dcm');
    const { bytes, header } = streamOf(file);
    const starts = tileParts(bytes);
    const last = starts[starts.length - 1] ?? 0;
    const open = Uint8Array.from(bytes);
    open.fill(0, last + 6, last + 10);
    expect(findJ2kStructureProblem(open, header.codestreamOffset)).toBeNull();
    const size = { width: 64, height: 64, components: 1 };
    expect(Array.from(decodeJ2kSamples(open, header, size).samples)).toEqual(
      Array.from(decodeJ2kSamples(bytes, header, size).samples),
    );
    expect(findJ2kStructureProblem(open.subarray(0, open.length - 3), 0)?.detail).toContain(
      'does not end with EOC',
    );
  });

  it('names malformed markers, SOT lengths, tile-parts too short and tile-parts without SOD', () => {
    const { bytes } = streamOf(pydicomFile('MR_small_jp2klossless.dcm'));
    const [sot = 0] = tileParts(bytes);
    const problem = (change: (copy: Uint8Array) => void) => {
      const copy = Uint8Array.from(bytes);
      change(copy);
      return findJ2kStructureProblem(copy, 0);
    };
    expect(problem((c) => (c[0] = 0))?.detail).toContain('does not start with SOC');
    expect(problem((c) => (c[4] = 0x12))).toMatchObject({ at: 2, isTruncated: true });
    expect(problem((c) => (c[sot] = 0x12))?.detail).toContain('not a marker');
    expect(problem((c) => (c[sot + 3] = 12))?.detail).toContain('declares 12 bytes, not 10');
    expect(problem((c) => c.set([0, 0, 0, 13], sot + 6))?.detail).toContain('fewer than 14');
    const withoutSod = problem((c) => {
      c.set([0, 0, 0, 17], sot + 6);
      c.set([0xff, 0x64, 0, 2], sot + 12); // SOD overwritten by an empty comment (COM)
    });
    expect(withoutSod?.detail).toContain('has no SOD');
    expect(problem((c) => c.set([0, 0], 4))).toMatchObject({ at: 2, isTruncated: false });
    expect(problem((c) => c.set([0, 1], sot + 4))?.detail).toContain('of tile 1, of 1');
    expect(problem((c) => (c[sot + 11] = 2))?.detail).toContain(
      'with 1 of the 2 tile-parts of tile 0',
    );
  });

  it('finds tiles missing at EOC: a tiled codestream cut at a tile-part with EOC put back', () => {
    const { bytes, header } = streamOf(pydicomFile('GDCMJ2K_TextGBR.dcm'));
    // 16 tiles, each in 6 tile-parts (one a resolution level), all of the first level first.
    const starts = tileParts(bytes);
    expect(starts.length).toBe(96);
    for (const [i, start] of starts.slice(1, 16).entries()) {
      const cut = Uint8Array.from([...bytes.subarray(0, start), 0xff, 0xd9]);
      expect(findJ2kStructureProblem(cut, header.codestreamOffset)).toEqual({
        at: start,
        isTruncated: true,
        detail: `the codestream ends (EOC) with ${i + 1} of its 16 tiles`,
      });
    }
    // GDCM's SOTs say 5 tile-parts a tile (TNsot) where it writes 6: fewer than 5 is a cut.
    for (const start of starts.slice(16, 80)) {
      const cut = Uint8Array.from([...bytes.subarray(0, start), 0xff, 0xd9]);
      expect(findJ2kStructureProblem(cut, header.codestreamOffset)?.detail).toMatch(
        /^the codestream ends \(EOC\) with [1-4] of the 5 tile-parts of tile \d+$/,
      );
    }
  });

  it('reads the tiles, tile-parts and packet lengths (PLT) of OpenJPEG, and decodes them as written', () => {
    const file = fixture('mono12-tiles-plt.dcm');
    const { bytes, header } = streamOf(file);
    expect(tileParts(bytes).length).toBe(24); // 6 tiles of 4 resolutions, a tile-part each
    expect(findJ2kStructureProblem(bytes, header.codestreamOffset)).toBeNull();
    expect(Array.from(decodeFrame(file).data)).toEqual(
      Array.from(decodeFrame(fixture('mono12-native.dcm')).data),
    );
  });

  it('regression: a tile that lost tile-parts its SOTs do not count is found by its packets (PLT)', () => {
    // TNsot 0 ("not said", A.4.2) or one fewer than written (GDCM 3.0's way): with a tile-part
    // other than a tile's first gone (cut off before EOC, or lost from the middle), no tile misses
    // a tile-part its SOTs declare, but its PLTs list fewer packets than its precincts and layers
    // make (3 layers x 16 precincts in a whole 32 x 32 tile, fewer in the partial ones).
    const { bytes, header } = streamOf(fixture('mono12-tiles-plt.dcm'));
    const eoc = endOf(bytes);
    for (const declared of [() => 0, (tnsot: number) => tnsot - 1]) {
      const stream = withTileParts(bytes.subarray(0, eoc), declared);
      expect(findJ2kStructureProblem(stream, header.codestreamOffset)).toBeNull();
      const starts = tileParts(stream);
      const packets = (tile: number) =>
        starts.slice(tile * 4, tile * 4 + 4).reduce((sum, at) => sum + packetsOf(stream, at), 0);
      expect([0, 1, 2, 3, 4, 5].map(packets)).toEqual([48, 48, 24, 24, 24, 12]);
      for (const [i, start] of starts.entries()) {
        const tile = Math.floor(i / 4);
        if (i % 4 === 0) {
          continue; // losing a tile's first tile-part loses the tile, found as before
        }
        const lost = Uint8Array.from([
          ...stream.subarray(0, start),
          ...stream.subarray(starts[i + 1] ?? eoc - 2),
        ]);
        expect(findJ2kStructureProblem(lost, header.codestreamOffset)).toMatchObject({
          isTruncated: true,
          detail: `the codestream ends (EOC) with ${packets(tile) - packetsOf(stream, start)} of the ${packets(tile)} packets of tile ${tile} (PLT)`,
        });
      }
      const last = starts[starts.length - 1] ?? 0;
      const cut = Uint8Array.from([...stream.subarray(0, last), 0xff, 0xd9]);
      expect(findJ2kStructureProblem(cut, header.codestreamOffset)).toEqual({
        at: last,
        isTruncated: true,
        detail: `the codestream ends (EOC) with ${12 - packetsOf(stream, last)} of the 12 packets of tile 5 (PLT)`,
      });
    }
  });

  it('regression: a last tile-part (Psot 0) cut inside with EOC put back is found by its PLT', () => {
    const { bytes, header } = streamOf(fixture('mono12-tiles-plt.dcm'));
    const starts = tileParts(bytes);
    const last = starts[starts.length - 1] ?? 0;
    const open = Uint8Array.from(bytes.subarray(0, endOf(bytes)));
    open.fill(0, last + 6, last + 10);
    expect(findJ2kStructureProblem(open, header.codestreamOffset)).toBeNull();
    for (const lost of [1, 2, 100, 200]) {
      const cut = Uint8Array.from([...open.subarray(0, open.length - 2 - lost), 0xff, 0xd9]);
      const problem = findJ2kStructureProblem(cut, header.codestreamOffset);
      expect(problem).toMatchObject({ at: last, isTruncated: true });
      expect(problem?.detail).toMatch(
        /^the tile-part at byte \d+ holds \d+ bytes of packets, its PLT says \d+$/,
      );
    }
    const broken = Uint8Array.from(bytes);
    const plt = last + 12; // the PLT is the first segment of each tile-part header
    broken[plt + 2 + (((bytes[plt + 2] ?? 0) << 8) | (bytes[plt + 3] ?? 0)) - 1] = 0x81;
    expect(findJ2kStructureProblem(broken, header.codestreamOffset)?.detail).toContain(
      'end inside a length',
    );
  });

  it('regression: a JP2 file whose boxes go on after a last tile-part of Psot 0 is whole, and decodes the same', () => {
    // The codestream ends where its box (jp2c) ends, not where the file does (15444-1 I.5.4).
    const name = 'GDCMJ2K_TextGBR.dcm';
    const file = pydicomFile(name);
    const { offset, bytes, header } = streamOf(file);
    const box = header.codestreamOffset - 8;
    const boxEnd = box + new DataView(bytes.buffer, bytes.byteOffset + box, 4).getUint32(0);
    const starts = tileParts(bytes);
    const last = starts[starts.length - 1] ?? 0;
    const xml = Buffer.from('<note>after the codestream</note>');
    const after = Buffer.alloc(8 + xml.length);
    after.writeUInt32BE(after.length);
    after.write('xml ', 4, 'latin1');
    xml.copy(after, 8);
    const jp2 = Uint8Array.from([...bytes.subarray(0, boxEnd), ...after]);
    jp2.fill(0, last + 6, last + 10);
    const opened = readJ2kHeader(jp2);
    expect(opened?.codestreamEnd).toBe(boxEnd);
    expect(findJ2kStructureProblem(jp2, header.codestreamOffset, boxEnd)).toBeNull();
    // Without the box's end, the boxes after it would be read as the tile-part's.
    expect(findJ2kStructureProblem(jp2, header.codestreamOffset)?.detail).toContain(
      'does not end with EOC',
    );
    const whole = readFileSync(PYDICOM + name);
    const decoded = decodeFrame(
      readDicom(withFragment(whole, offset, bytes.length, jp2), { name }),
    );
    expect(Array.from(decoded.data)).toEqual(Array.from(decodeFrame(file).data));
    // A file cut inside its codestream box says so.
    const cut = jp2.subarray(0, boxEnd - 1);
    expect(findJ2kStructureProblem(cut, header.codestreamOffset, boxEnd)).toMatchObject({
      isTruncated: true,
      detail: `the codestream box (jp2c) declares ${boxEnd - header.codestreamOffset} bytes, the stream has ${boxEnd - 1 - header.codestreamOffset}`,
    });
  });
});
