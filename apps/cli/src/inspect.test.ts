import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing/run-cli.js';

// `lantern inspect` on tables written by other software (DuckDB's Parquet fixtures) and by hand.
const FIXTURES = fileURLToPath(
  new URL('../../../packages/formats/fixtures/tables/', import.meta.url),
);

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-cli-inspect-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('lantern inspect', () => {
  it('describes a Parquet file: rows, columns with their types, nullable, an example', async () => {
    const file = join(FIXTURES, 'ecgs-duckdb-snappy.parquet');
    const json = await runCli(['inspect', file, '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      columns: { name: string; type: string; nullable: boolean }[];
    };
    expect(report).toMatchObject({ file, format: 'parquet', rowCount: 5000, identifying: [] });
    expect(report.columns.map(({ name, type, nullable }) => [name, type, nullable])).toEqual([
      ['ecg_id', 'integer', false],
      ['patient_ngsci_id', 'string', false],
      ['accession', 'integer', false],
      ['heart_rate', 'number', true],
      ['qt_ms', 'number', false],
      ['arrest', 'boolean', false],
      ['ecg_date', 'date', true],
      ['ecg_time', 'datetime', false],
      ['rhythm', 'string', false],
    ]);
    expect(report.columns[1]).toMatchObject({ example: 'p0000', empty: 0 });

    const text = await runCli(['inspect', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^.*ecgs-duckdb-snappy\.parquet: Parquet table, 5000 rows, 9 columns, /,
    );
    expect(text.stdout).toMatch(/^ {2}heart_rate\s+number\s+yes \(500 empty\)\s+"50"$/m);
    expect(text.stdout).not.toContain('Identifying');

    const empty = await runCli(['inspect', join(FIXTURES, 'empty-duckdb.parquet'), '--json']);
    expect(JSON.parse(empty.stdout)).toMatchObject({ format: 'parquet', rowCount: 0 });
  });

  it('describes a CSV file and flags the columns that identify a person, examples masked', async () => {
    const file = await write(
      'patients.csv',
      '\ufeffpatient_ngsci_id,patient_name,MRN,date_of_birth,age,email\r\n' +
        'p1,"Doe, Jane",A123456,1984-02-03,41,jane.doe@example.org\r\n' +
        'p2,Bob Roe,B654321,,52,\r\n',
    );
    const json = await runCli(['inspect', file, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { columns: unknown[] };
    expect(report).toMatchObject({
      file,
      format: 'csv',
      rowCount: 2,
      identifying: [
        { field: 'patient_name', example: 'D**, ****' },
        { field: 'MRN', example: 'A******' },
        { field: 'date_of_birth', example: '1***-**-**' },
        { field: 'email', example: 'j***.***@*******.***' },
      ],
    });
    expect(report.columns).toEqual([
      { name: 'patient_ngsci_id', type: 'string', nullable: false, empty: 0, example: 'p1' },
      { name: 'patient_name', type: 'string', nullable: false, empty: 0, example: 'D**, ****' },
      { name: 'MRN', type: 'string', nullable: false, empty: 0, example: 'A******' },
      { name: 'date_of_birth', type: 'date', nullable: true, empty: 1, example: '1***-**-**' },
      { name: 'age', type: 'integer', nullable: false, empty: 0, example: '41' },
      { name: 'email', type: 'string', nullable: true, empty: 1, example: 'j***.***@*******.***' },
    ]);

    const text = await runCli(['inspect', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${file}: CSV table, 2 rows, 6 columns, `);
    expect(text.stdout).toMatch(
      /\nIdentifying fields \(examples masked\): de-identify these before publishing\n {2}patient_name\s+"D\*\*, \*\*\*\*"\n {2}MRN\s+"A\*\*\*\*\*\*"\n/,
    );
    // No identifying value is printed whole, anywhere.
    for (const value of ['Jane', 'Doe', 'A123456', '1984-02-03', 'jane.doe@example.org']) {
      expect(text.stdout + json.stdout).not.toContain(value);
    }
  });

  it("exits 1 with the reader's one-line message for a table it cannot read", async () => {
    const ragged = await write('ragged.csv', 'a,b\n1,2\n3\n');
    const result = await runCli(['inspect', ragged]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^lantern: ${ragged}: .* \\(line 3, .*byte 8\\)\n$`));

    const quote = await write('quote.csv', 'a,b\n1,"open\n');
    const unterminated = await runCli(['inspect', quote, '--json']);
    expect(unterminated.code).toBe(1);
    expect(unterminated.stdout).toBe('');
    expect(unterminated.stderr).toMatch(new RegExp(`^lantern: ${quote}: .*\\(line 2, .*\\)\n$`));

    // Well-formed Parquet that the reader does not read yet is refused the same way.
    const zstd = join(FIXTURES, 'ecgs-duckdb-zstd.parquet');
    const compressed = await runCli(['inspect', zstd]);
    expect(compressed.code).toBe(1);
    expect(compressed.stderr).toMatch(new RegExp(`^lantern: ${zstd}: .*ZSTD.*\\(byte \\d+\\)\n$`));
  });

  it('names the transfer syntax of compressed DICOM and says whether its pixels are decoded', async () => {
    const folder = '/usr/lib/python3/dist-packages/pydicom/data/test_files/';
    for (const [name, uid, syntax, isDecoded] of [
      ['JPEG2000.dcm', '1.2.840.10008.1.2.4.91', 'JPEG 2000', true],
      ['GDCMJ2K_TextGBR.dcm', '1.2.840.10008.1.2.4.90', 'JPEG 2000 (Lossless Only)', true],
      ['MR_small_jpeg_ls_lossless.dcm', '1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', true],
      ['JPGExtended.dcm', '1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', true],
    ] as const) {
      const json = await runCli(['inspect', folder + name, '--json']);
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        format: 'dicom',
        transferSyntax: { uid, name: syntax },
        isPixelDataDecoded: isDecoded,
      });
      const text = await runCli(['inspect', folder + name]);
      expect(text.stdout).toContain(`"name":"${syntax}"`);
      expect(text.stdout).toMatch(new RegExp(`isPixelDataDecoded\\s+${String(isDecoded)}`));
      expect(text.stdout).not.toContain('pixelDataNotDecoded');
    }
    // Arithmetic-coded JPEG (libjpeg-turbo's cjpeg -arithmetic, SOF9) is decoded; the same stream
    // labelled arithmetic lossless (SOF11) is not, and the description says why.
    const arithmetic = readFileSync(
      new URL(
        '../../../packages/formats/fixtures/jpeg-extended/rgb8-arithmetic.dcm',
        import.meta.url,
      ),
    );
    const sof = arithmetic.indexOf(Buffer.from([0xff, 0xc9]));
    const lossless = await write('sof11.dcm', Buffer.from(arithmetic).fill(0xcb, sof + 1, sof + 2));
    for (const [path, decoded, why] of [
      [await write('sof9.dcm', arithmetic), 'true', null],
      [lossless, 'false', 'arithmetic-coded lossless JPEG (SOF11, 0xCB) is not decoded'],
    ] as const) {
      const text = await runCli(['inspect', path]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`isPixelDataDecoded\\s+${decoded}\n`));
      if (why === null) {
        expect(text.stdout).not.toContain('pixelDataNotDecoded');
      } else {
        expect(text.stdout).toContain(`pixelDataNotDecoded        ${why}\n`);
      }
    }
  });

  it('describes real DICOM, ECG and slide files, identifying fields masked', async () => {
    // Files written by others: pydicom's CT test image and scipy's MIT-BIH excerpt (Debian packages).
    const ct = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';
    const dicom = await runCli(['inspect', ct, '--json']);
    expect(dicom.code, dicom.stderr).toBe(0);
    const described = JSON.parse(dicom.stdout) as {
      format: string;
      width: number;
      height: number;
      modality: string;
      identifying: { keyword: string; value: string }[];
    };
    expect(described).toMatchObject({ format: 'dicom', width: 128, height: 128, modality: 'CT' });
    const name = described.identifying.find((f) => f.keyword === 'PatientName');
    expect(name?.value).toMatch(/^\S\*+$/);
    const text = await runCli(['inspect', ct]);
    expect(text.stdout).toMatch(/Identifying fields \(values masked\)/);
    // In columns, as the facts above them: they were JSON objects, one a line.
    expect(text.stdout).toMatch(/^ {2}\(0010,0010\) {2}PatientName +\S\*+ *$/mu);
    expect(text.stdout).not.toContain('{"tag"');

    const ecg = await runCli([
      'inspect',
      '/usr/lib/python3/dist-packages/scipy/misc/ecg.dat',
      '--json',
    ]);
    expect(ecg.code, ecg.stderr).toBe(0);
    expect(JSON.parse(ecg.stdout)).toMatchObject({ format: 'ecg-npz' });

    // A meta element that declares a 4-byte value, then the file ends.
    const broken = new Uint8Array(140);
    broken.set(Buffer.from('DICM', 'latin1'), 128);
    broken.set([0x02, 0x00, 0x00, 0x00, 0x55, 0x4c, 0x04, 0x00], 132);
    const truncated = await runCli(['inspect', await write('study.bin', broken)]);
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toMatch(/^lantern: .*study\.bin/);

    // A pyramid vips builds from scikit-image's real stained tissue.
    const pyramid = join(dir, 'ihc.tif');
    execFileSync('vips', [
      'tiffsave',
      '/usr/lib/python3/dist-packages/skimage/data/ihc.png',
      pyramid,
      '--tile',
      '--pyramid',
      '--compression',
      'jpeg',
      '--tile-width',
      '256',
      '--tile-height',
      '256',
    ]);
    const slide = await runCli(['inspect', pyramid, '--json']);
    expect(slide.code, slide.stderr).toBe(0);
    const levels = JSON.parse(slide.stdout) as { format: string; levels: { width: number }[] };
    expect(levels.format).toBe('wsi-tiff');
    expect(levels.levels[0]?.width).toBe(512);
    const fake = await write('slide.svs', Buffer.from('II*\0\x08\0\0\0', 'latin1'));
    const refused = await runCli(['inspect', fake]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^lantern: .*slide\.svs/);
    const missing = await runCli(['inspect', join(dir, 'missing.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`lantern: cannot read ${join(dir, 'missing.csv')}: no such file\n`);
  });
});
