import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deidentifyDicom, hmacUidRemapper, type DicomDeidOptions } from '@lantern/deid';
import {
  dicomDataset,
  EXPLICIT_VR_LITTLE_ENDIAN,
  FormatError,
  readDicom,
  TAG,
  writeDicom,
} from '@lantern/formats';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NotReadWholeError,
  READ_BUFFER_KEPT_MAX_BYTES,
  ReadBuffer,
  readWholeFileSync,
  writeDicomFile,
} from './dicom-ingest.js';
import { readHead } from './file-ingest.js';

const OPTIONS: DicomDeidOptions = {
  name: 'files/xray-1.dcm',
  shiftDays: -41,
  remapUid: hmacUidRemapper('dicom-ingest-test'),
  pseudonym: { patientId: 'NGSCI-P-7', patientName: 'NGSCI-P-7' },
};

/** A synthetic radiograph (no real person) with 128 KiB of pixels, so a chunk of their own. */
function radiograph(burnedIn: 'YES' | 'NO'): Uint8Array {
  const pixels = new Uint8Array(256 * 256 * 2).map((_, i) => (i * 13) & 0xff);
  return writeDicom({
    dataset: dicomDataset([
      { tag: TAG.SOPClassUID, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1' },
      { tag: TAG.SOPInstanceUID, vr: 'UI', value: '1.2.826.0.1.3680043.10.99.1' },
      { tag: TAG.StudyDate, vr: 'DA', value: '20200115' },
      { tag: TAG.Modality, vr: 'CS', value: 'CR' },
      { tag: TAG.PatientName, vr: 'PN', value: 'Synthetic^Patient' },
      { tag: TAG.PatientID, vr: 'LO', value: 'SYN000123' },
      { tag: TAG.PatientComments, vr: 'LT', value: 'SYNTHETIC DATA: no real person' },
      { tag: TAG.Rows, vr: 'US', value: 256 },
      { tag: TAG.Columns, vr: 'US', value: 256 },
      { tag: TAG.BitsAllocated, vr: 'US', value: 16 },
      { tag: TAG.BitsStored, vr: 'US', value: 12 },
      { tag: TAG.HighBit, vr: 'US', value: 11 },
      { tag: TAG.PixelRepresentation, vr: 'US', value: 0 },
      { tag: TAG.SamplesPerPixel, vr: 'US', value: 1 },
      { tag: TAG.PhotometricInterpretation, vr: 'CS', value: 'MONOCHROME2' },
      { tag: TAG.BurnedInAnnotation, vr: 'CS', value: burnedIn },
      { tag: TAG.PixelData, vr: 'OW', value: pixels },
    ]),
    transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
  });
}

describe('writeDicomFile', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lantern-dicom-ingest-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The file `written` names holds `expected`'s bytes, and its hash is theirs. */
  async function expectWritten(
    written: { path: string; size: number; sha256: string },
    expected: { chunks: readonly Uint8Array[]; size: number },
  ): Promise<Buffer> {
    const bytes = await readFile(written.path);
    expect(bytes.equals(Buffer.concat(expected.chunks, expected.size))).toBe(true);
    expect(written.size).toBe(bytes.byteLength);
    expect(written.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect((await stat(written.path)).mode & 0o777).toBe(0o600);
    return bytes;
  }

  it("writes the de-identified file, its owner's alone, with the SHA-256 of its bytes", async () => {
    const source = radiograph('NO');
    const path = join(dir, 'xray-1.dcm');
    await writeFile(path, source);
    const out = join(dir, 'out');
    const { file, hold } = writeDicomFile(path, OPTIONS, out);
    expect(hold).toBeNull();
    expect(file.path).toBe(out);
    const bytes = await expectWritten(file, deidentifyDicom(source, OPTIONS));
    const dataset = readDicom(bytes, { name: 'stored.dcm' }).dataset;
    expect(dataset.string(TAG.PatientName)).toBe('NGSCI-P-7');
    expect(dataset.string(TAG.PatientID)).toBe('NGSCI-P-7');
    expect(dataset.string(TAG.StudyDate)).toBe('20191205');
    // A file is never written over: each output is new.
    expect(() => writeDicomFile(path, OPTIONS, out)).toThrow(/EEXIST/u);
  });

  it('writes each of several files read into one ReadBuffer as de-identified from its own bytes', async () => {
    const sources = [radiograph('NO'), radiograph('YES'), radiograph('NO').subarray(0, 40_000)];
    const readBuffer = new ReadBuffer();
    const holds = [];
    for (const [i, source] of sources.entries()) {
      const path = join(dir, `xray-${i}.dcm`);
      await writeFile(path, source);
      const options = { ...OPTIONS, shiftDays: i };
      const out = join(dir, `out-${i}`);
      if (i === 2) {
        // Cut short inside its pixel data: refused, nothing written, the buffer lent on as before.
        expect(() => writeDicomFile(path, options, out, readBuffer)).toThrow(FormatError);
        await expect(stat(out)).rejects.toThrow(/ENOENT/u);
        continue;
      }
      const { file, hold } = writeDicomFile(path, options, out, readBuffer);
      holds.push(hold);
      await expectWritten(file, deidentifyDicom(source, options));
    }
    expect(holds.map((hold) => hold !== null)).toEqual([false, true]);
  });

  it('says why an image with burned-in text is held, its file de-identified all the same', async () => {
    const path = join(dir, 'xray-2.dcm');
    await writeFile(path, radiograph('YES'));
    const { file, hold } = writeDicomFile(path, OPTIONS, join(dir, 'out'));
    expect(hold).toContain('Burned In Annotation is YES');
    const kept = await readFile(file.path);
    expect(readDicom(kept, { name: 'kept.dcm' }).dataset.string(TAG.PatientName)).toBe('NGSCI-P-7');
  });

  it('refuses a file that is not DICOM with a FormatError, and writes nothing', async () => {
    const path = join(dir, 'not.dcm');
    await writeFile(path, 'SYNTHETIC: not a DICOM file at all');
    expect(() => writeDicomFile(path, OPTIONS, join(dir, 'out'))).toThrow(FormatError);
    expect(await readdir(dir)).toEqual(['not.dcm']);
  });
});

describe('ReadBuffer', () => {
  it('lends one buffer again and again, grown when a file needs more, and huge files their own', () => {
    const readBuffer = new ReadBuffer();
    const first = readBuffer.lend(1000);
    expect(first.byteLength).toBe(1000);
    const second = readBuffer.lend(5000);
    expect(second.buffer).toBe(first.buffer);
    const grown = readBuffer.lend(3 * 1024 * 1024);
    expect(grown.byteLength).toBe(3 * 1024 * 1024);
    expect(grown.buffer).not.toBe(first.buffer);
    expect(readBuffer.lend(10).buffer).toBe(grown.buffer);
    expect(readBuffer.lend(0).byteLength).toBe(0);
    const huge = readBuffer.lend(READ_BUFFER_KEPT_MAX_BYTES + 1);
    expect(huge.buffer).not.toBe(grown.buffer);
    expect(readBuffer.lend(10).buffer).toBe(grown.buffer);
  });
});

describe('readWholeFileSync', () => {
  it('reads a file into one buffer of its size, an empty one too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lantern-read-whole-'));
    try {
      const bytes = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) & 0xff);
      await writeFile(join(dir, 'a'), bytes);
      await writeFile(join(dir, 'empty'), new Uint8Array(0));
      const read = readWholeFileSync(join(dir, 'a'));
      expect(Buffer.from(read).equals(Buffer.from(bytes))).toBe(true);
      expect(read.buffer.byteLength).toBe(bytes.byteLength);
      const readBuffer = new ReadBuffer();
      const lent = readWholeFileSync(join(dir, 'a'), readBuffer);
      expect(Buffer.from(lent).equals(Buffer.from(bytes))).toBe(true);
      expect(lent.buffer).toBe(readBuffer.lend(1).buffer);
      expect(readWholeFileSync(join(dir, 'empty')).byteLength).toBe(0);
      expect(() => readWholeFileSync(join(dir, 'missing'))).toThrow('ENOENT');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a named pipe no one writes at once, and a folder, naming neither', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lantern-read-whole-'));
    try {
      const fifo = join(dir, 'patient-name.dcm');
      await promisify(execFile)('mkfifo', [fifo]);
      // A blocking read of the pipe would wait for a writer for ever, on the worker's only thread;
      // the server's look at a file's first bytes (readHead) would hold a thread of its pool.
      for (const path of [fifo, dir]) {
        expect(() => readWholeFileSync(path)).toThrow(NotReadWholeError);
        expect(() => readWholeFileSync(path)).toThrow(/^not a regular file$/u);
        await expect(readHead(path, 132)).rejects.toThrow(NotReadWholeError);
        await expect(readHead(path, 132)).rejects.toThrow(/^not a regular file$/u);
      }
      await writeFile(join(dir, 'short'), 'DICM');
      expect(Buffer.from(await readHead(join(dir, 'short'), 132)).toString()).toBe('DICM');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
