/**
 * The TIFF writer given its plan (write-tiff.ts): a file laid out before its data is written
 * header first, final, and strictly in order, so that a HashingTiffSink's hash is the file's; the
 * very bytes the writer makes without a plan, in every flavour; and a file that strays from its
 * plan, or a patch of a hashed file, refused with a TiffWriteError.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  HashingTiffSink,
  MemoryTiffSink,
  TiffWriteError,
  TiffWriter,
  type TiffWritePlan,
  type TiffWriteEntry,
} from './write-tiff.js';
import { TIFF_TAG } from './tiff.js';

/** Two images' data: odd lengths too, so that the writer's word padding is in the plan. */
const DATA = [
  [new Uint8Array(301).fill(1), new Uint8Array(64).fill(2), new Uint8Array(7).fill(3)],
  [new Uint8Array(1000).fill(4)],
];

function entriesOf(index: number, offsets: number[], lengths: number[]): TiffWriteEntry[] {
  return [
    { tag: TIFF_TAG.ImageWidth, type: 'long', values: [16 * (index + 1)] },
    { tag: TIFF_TAG.ImageLength, type: 'long', values: [16] },
    { tag: TIFF_TAG.ImageDescription, type: 'ascii', values: `image ${index}` },
    { tag: TIFF_TAG.StripByteCounts, type: 'offset', values: lengths },
    { tag: TIFF_TAG.StripOffsets, type: 'offset', values: offsets },
  ];
}

/** The plan of DATA's images, their offsets not known yet. */
function planOf(data: Uint8Array[][]): TiffWritePlan {
  return {
    dataLengths: data.flat().map((bytes) => bytes.length),
    images: data.map((blocks, i) =>
      entriesOf(
        i,
        blocks.map(() => 0),
        blocks.map((bytes) => bytes.length),
      ),
    ),
  };
}

/** Writes DATA's images through `writer` (the data first, then the directories). */
async function writeImages(writer: TiffWriter, data: Uint8Array[][]): Promise<void> {
  const images: TiffWriteEntry[][] = [];
  for (const [i, blocks] of data.entries()) {
    const offsets: number[] = [];
    for (const bytes of blocks) {
      offsets.push(await writer.writeData(bytes));
    }
    images.push(
      entriesOf(
        i,
        offsets,
        blocks.map((bytes) => bytes.length),
      ),
    );
  }
  for (const entries of images) {
    writer.addImage(entries);
  }
  await writer.finish();
}

describe('TiffWriter with a plan', () => {
  it('writes the same bytes as without one, in order, hashed as they are written', async () => {
    for (const littleEndian of [true, false]) {
      for (const bigTiff of [true, false, 'auto'] as const) {
        const unplanned = new MemoryTiffSink();
        await writeImages(await TiffWriter.create(unplanned, { littleEndian, bigTiff }), DATA);
        const planned = new MemoryTiffSink();
        const hashing = new HashingTiffSink(planned);
        const writer = await TiffWriter.create(hashing, {
          littleEndian,
          bigTiff,
          plan: planOf(DATA),
        });
        await writeImages(writer, DATA);
        const bytes = planned.bytes();
        expect(Buffer.from(bytes).equals(Buffer.from(unplanned.bytes()))).toBe(true);
        expect(hashing.sha256()).toBe(createHash('sha256').update(bytes).digest('hex'));
      }
    }
  });

  it('refuses to finish a file whose data is not what was planned', async () => {
    const other = [[new Uint8Array(303).fill(1), ...(DATA[0]?.slice(1) ?? [])], DATA[1] ?? []];
    const writer = await TiffWriter.create(new MemoryTiffSink(), { plan: planOf(DATA) });
    await expect(writeImages(writer, other)).rejects.toMatchObject({
      name: 'TiffWriteError',
      code: 'plan_mismatch',
    });
  });

  it('refuses to finish a file whose first directory is not the one planned', async () => {
    const plan = planOf(DATA);
    const [first, ...rest] = plan.images;
    // A longer description: the first directory starts further on than the header says.
    const longer = (first ?? []).map((entry) =>
      entry.tag === TIFF_TAG.ImageDescription
        ? { ...entry, values: 'image 0, planned longer' }
        : entry,
    );
    const writer = await TiffWriter.create(new MemoryTiffSink(), {
      plan: { ...plan, images: [longer, ...rest] },
    });
    await expect(writeImages(writer, DATA)).rejects.toThrow(TiffWriteError);
  });

  it('refuses a patch of a hashed file: without a plan, a hashed TIFF cannot be finished', async () => {
    const writer = await TiffWriter.create(new HashingTiffSink(new MemoryTiffSink()));
    await expect(writeImages(writer, DATA)).rejects.toMatchObject({ code: 'plan_mismatch' });
  });
});
