import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { formatCsvRow, readCsv, type ByteSource, type CsvOptions } from './csv.js';

const encoder = new TextEncoder();

/** The bytes of `input`, yielded `size` bytes at a time (1 splits every sequence there is). */
async function* chunked(input: string | Uint8Array, size = 65_536): AsyncGenerator<Uint8Array> {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  for (let i = 0; i < bytes.length; i += size) {
    yield bytes.subarray(i, i + size);
  }
}

async function readAll(source: ByteSource, options: Partial<CsvOptions> = {}) {
  const table = await readCsv(source, { name: 'test.csv', ...options });
  const rows = [];
  for await (const row of table) {
    rows.push(row);
  }
  return { columns: table.columns, rows, bytesRead: table.bytesRead };
}

async function valuesOf(input: string | Uint8Array, size?: number) {
  const { columns, rows } = await readAll(chunked(input, size));
  return [columns, ...rows.map((row) => row.values)];
}

/** The FormatError that reading `input` whole fails with. */
async function failureOf(
  input: string | Uint8Array | ByteSource,
  options: Partial<CsvOptions> = {},
  size?: number,
): Promise<FormatError> {
  const source =
    typeof input === 'string' || input instanceof Uint8Array ? chunked(input, size) : input;
  const error: unknown = await readAll(source, options).then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof FormatError)) {
    throw new Error(`expected a FormatError, got ${String(error)}`);
  }
  return error;
}

describe('CSV (RFC 4180)', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, in every chunking', async () => {
    const text =
      'id,note,score\r\n' +
      '1,"a, b",3.5\r\n' +
      '2,"she said ""hi""",\r\n' +
      '3,"two\r\nlines",""\r\n' +
      '4,plain,7';
    const expected = [
      ['id', 'note', 'score'],
      ['1', 'a, b', '3.5'],
      ['2', 'she said "hi"', null],
      ['3', 'two\r\nlines', ''],
      ['4', 'plain', '7'],
    ];
    for (const size of [1, 2, 3, 5, 7, 64, 65_536]) {
      expect(await valuesOf(text, size)).toEqual(expected);
    }
  });

  it('takes LF, CRLF and a lone CR as line breaks, with or without one at the end', async () => {
    const expected = [
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ];
    for (const text of [
      'a,b\n1,2\n3,4\n',
      'a,b\r\n1,2\r\n3,4',
      'a,b\r1,2\r3,4\r',
      'a,b\n1,2\r\n3,4',
    ]) {
      expect(await valuesOf(text)).toEqual(expected);
      expect(await valuesOf(text, 1)).toEqual(expected);
    }
  });

  it('tells an empty field (null) from a quoted empty string, and skips blank lines', async () => {
    expect(await valuesOf('a,b,c\n,"",x\n\n\r\n,,\n"",,""\n')).toEqual([
      ['a', 'b', 'c'],
      [null, '', 'x'],
      [null, null, null],
      ['', null, ''],
    ]);
  });

  it('numbers each row by the line it begins on, and its byte offset', async () => {
    const { rows } = await readAll(chunked('h1,h2\n1,"x\ny\nz"\n\n2,w\n', 4));
    expect(rows.map(({ line, offset }) => ({ line, offset }))).toEqual([
      { line: 2, offset: 6 },
      { line: 6, offset: 17 },
    ]);
  });

  it('reads a header alone as a table of no rows', async () => {
    expect(await valuesOf('only,columns\r\n')).toEqual([['only', 'columns']]);
    expect(await valuesOf('only,columns')).toEqual([['only', 'columns']]);
  });

  it('drops a UTF-8 byte-order mark, even one split across chunks, and counts its bytes', async () => {
    const text = '\uFEFFnamé,ünits\n€,日本\n';
    expect(await valuesOf(text, 1)).toEqual([
      ['namé', 'ünits'],
      ['€', '日本'],
    ]);
    const { rows, bytesRead } = await readAll(chunked(text));
    expect(rows[0]?.offset).toBe(3 + encoder.encode('namé,ünits\n').length);
    expect(bytesRead).toBe(encoder.encode(text).length);
  });

  it('reads a Node Readable, a file stream included', async () => {
    const { columns, rows } = await readAll(Readable.from([Buffer.from('x,y\n1,2\n')]));
    expect(columns).toEqual(['x', 'y']);
    expect(rows.map((row) => row.values)).toEqual([['1', '2']]);
  });

  it('refuses a source that yields text, whose byte offsets are lost', async () => {
    const text = Readable.from(['x,y\n']);
    await expect(readCsv(text, { name: 'text.csv' })).rejects.toThrow(TypeError);
  });

  it('round-trips what formatCsvRow writes, whatever the values', async () => {
    const pieces = ['', 'a', ',', '"', '""', '\r\n', '\n', '\r', ' ', 'é', '😀', 'NULL', 'x,"y"'];
    const rows: (string | null)[][] = [];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let r = 0; r < 300; r++) {
      rows.push(
        [0, 1, 2].map(() => {
          if (next() % 7 === 0) {
            return null;
          }
          let value = '';
          for (let k = next() % 4; k > 0; k--) {
            value += pieces[next() % pieces.length] ?? '';
          }
          return value;
        }),
      );
    }
    const header = ['a b', '"quoted"', 'c,d'];
    const text = [header, ...rows].map(formatCsvRow).join('');
    for (const size of [1, 13, 65_536]) {
      expect(await valuesOf(text, size)).toEqual([header, ...rows]);
    }
    expect(await valuesOf(formatCsvRow(['only']) + formatCsvRow([null]))).toEqual([['only'], ['']]);
  });

  it('stops and releases the source when the caller leaves early', async () => {
    let isReleased = false;
    async function* source() {
      try {
        yield encoder.encode('n\n');
        for (let i = 0; ; i++) {
          yield encoder.encode(`${i}\n`);
        }
      } finally {
        isReleased = true;
      }
    }
    const table = await readCsv(source(), { name: 'endless.csv' });
    let seen = 0;
    for await (const row of table) {
      seen++;
      if (row.values[0] === '99') {
        break;
      }
    }
    expect(seen).toBe(100);
    expect(isReleased).toBe(true);

    isReleased = false;
    const unread = await readCsv(source(), { name: 'endless.csv' });
    await unread.close();
    expect(isReleased).toBe(true);
  });
});

describe('CSV that cannot be read', () => {
  it('requires a header', async () => {
    for (const text of ['', '\uFEFF', '\n\n\r\n']) {
      const error = await failureOf(text);
      expect(error.code).toBe('missing_header');
    }
  });

  it('refuses empty and duplicate column names, naming the column', async () => {
    const empty = await failureOf('id,,x\n1,2,3\n');
    expect([empty.code, empty.line, empty.column]).toEqual(['empty_column_name', 1, 2]);
    const blank = await failureOf('id,"  "\n');
    expect([blank.code, blank.column]).toEqual(['empty_column_name', 2]);
    const twice = await failureOf('id,age,id\n');
    expect([twice.code, twice.column]).toEqual(['duplicate_column_name', 3]);
    expect(twice.message).toContain('"id" twice (columns 1 and 3)');
    const wide = await failureOf('a,b,c,d\n', { maxColumns: 3 });
    expect(wide.code).toBe('too_many_columns');
  });

  it('refuses ragged rows, naming their line', async () => {
    const short = await failureOf('a,b,c\n1,2,3\n"x\ny",2\n');
    expect([short.code, short.line, short.offset]).toEqual(['ragged_row', 3, 12]);
    expect(short.message).toBe(
      'test.csv: the row on line 3 has 2 fields, the header 3 (line 3, byte 12)',
    );
    const long = await failureOf('a,b\n1,2\n3,4,5,6\n');
    expect([long.code, long.line, long.column, long.offset]).toEqual(['ragged_row', 3, 3, 12]);
  });

  it('refuses quotes where RFC 4180 has none', async () => {
    const inside = await failureOf('a,b\n1,5" tall\n');
    expect([inside.code, inside.line, inside.column, inside.offset]).toEqual([
      'unexpected_quote',
      2,
      2,
      7,
    ]);
    const after = await failureOf('a,b\n1,"x"y\n');
    expect([after.code, after.line, after.column, after.offset]).toEqual([
      'unexpected_quote',
      2,
      2,
      9,
    ]);
  });

  it('refuses a quote still open at the end, naming where it opened', async () => {
    const text = 'a,b\n1,2\n3,"never\nclosed, at all\n';
    for (const size of [1, 65_536]) {
      const error = await failureOf(text, {}, size);
      expect([error.code, error.line, error.column, error.offset]).toEqual([
        'unterminated_quote',
        3,
        2,
        10,
      ]);
    }
  });

  it('refuses invalid UTF-8, naming the byte where it begins, in any chunking', async () => {
    const head = encoder.encode('name,city\nAda,Lo');
    const cases: [string, number[]][] = [
      ['a stray continuation byte', [0x80]],
      ['Latin-1 é', [0xe9, 0x2c]],
      ['an overlong slash', [0xc0, 0xaf]],
      ['a surrogate', [0xed, 0xa0, 0x80]],
      ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
      ['a sequence cut by a line break', [0xe2, 0x82, 0x0a]],
    ];
    for (const [what, bad] of cases) {
      const bytes = new Uint8Array([...head, ...bad, ...encoder.encode('ndon\n')]);
      for (const size of [1, 3, 65_536]) {
        const error = await failureOf(bytes, {}, size);
        expect([what, error.code, error.offset, error.line, error.column]).toEqual([
          what,
          'invalid_utf8',
          head.length,
          2,
          2,
        ]);
      }
    }
    const cut = await failureOf(new Uint8Array([...encoder.encode('a\n'), 0xf0, 0x9f, 0x98]));
    expect([cut.code, cut.offset, cut.detail]).toEqual([
      'invalid_utf8',
      2,
      'the file ends inside a UTF-8 sequence',
    ]);
  });

  it('hands out the rows before the invalid bytes, then fails', async () => {
    const bytes = new Uint8Array([...encoder.encode('n\n1\n2\n'), 0xff, 0x0a]);
    const table = await readCsv(chunked(bytes), { name: 'late.csv' });
    const seen: (string | null)[] = [];
    await expect(
      (async () => {
        for await (const row of table) {
          seen.push(row.values[0] ?? null);
        }
      })(),
    ).rejects.toMatchObject({ code: 'invalid_utf8', offset: 6, line: 4 });
    expect(seen).toEqual(['1', '2']);
  });

  it('cuts a gigabyte field that never ends at the limit, without reading on', async () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    const gigabyte = 1024;
    for (const opening of ['', '"']) {
      let pulled = 0;
      async function* hostile() {
        const head = encoder.encode(`id,blob\n1,${opening}`);
        pulled += head.length;
        yield head;
        for (let i = 0; i < gigabyte; i++) {
          pulled += chunk.length;
          yield chunk;
        }
      }
      const limit = 4 * 1024 * 1024;
      const error = await failureOf(hostile(), { maxFieldBytes: limit });
      const fieldStart = 10 + opening.length;
      expect([error.code, error.line, error.column, error.offset]).toEqual([
        'field_too_large',
        2,
        2,
        fieldStart + limit,
      ]);
      expect(pulled).toBeLessThanOrEqual(fieldStart + limit + chunk.length);
    }
  });

  it('cuts a record of many fields at the record limit, and a short field is no escape', async () => {
    const field = 'x'.repeat(1000);
    const header = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const text = formatCsvRow(header) + formatCsvRow(header.map(() => field));
    const error = await failureOf(text, { maxFieldBytes: 2000, maxRecordBytes: 50_000 });
    expect([error.code, error.line]).toEqual(['record_too_large', 2]);
    const tight = await failureOf(text, { maxFieldBytes: 999 });
    expect([tight.code, tight.column]).toEqual(['field_too_large', 1]);
  });
});

describe('CSV at size', () => {
  let directory = '';
  const path = () => join(directory, 'large.csv');
  const rowCount = 750_000;
  const row = (i: number) =>
    `${i},P${String(i % 50_000).padStart(6, '0')},"note, with a comma and ""quotes"" ${i}",${(i % 997) / 10},2024-01-${String((i % 28) + 1).padStart(2, '0')}\n`;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lantern-csv-'));
    const parts = ['ecg_id,patient_ngsci_id,note,value,date\n'];
    for (let i = 0; i < rowCount; i++) {
      parts.push(row(i));
    }
    await writeFile(path(), parts.join(''));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('streams a 50 MB file from disk, never more than a chunk ahead of the rows handed out', async () => {
    const chunkSize = 64 * 1024;
    let pulled = 0;
    const stream = createReadStream(path(), { highWaterMark: chunkSize });
    async function* counted() {
      for await (const chunk of stream) {
        if (!(chunk instanceof Uint8Array)) {
          throw new TypeError('bytes expected');
        }
        pulled += chunk.length;
        yield chunk;
      }
    }
    const table = await readCsv(counted(), { name: 'large.csv' });
    let rows = 0;
    let last: (string | null)[] = [];
    let furthestAhead = 0;
    for await (const item of table) {
      rows++;
      last = item.values;
      furthestAhead = Math.max(furthestAhead, pulled - item.offset);
    }
    expect(table.bytesRead).toBeGreaterThan(50 * 1024 * 1024);
    expect(rows).toBe(rowCount);
    expect(last).toEqual([
      String(rowCount - 1),
      `P${String((rowCount - 1) % 50_000).padStart(6, '0')}`,
      `note, with a comma and "quotes" ${rowCount - 1}`,
      String(((rowCount - 1) % 997) / 10),
      `2024-01-${String(((rowCount - 1) % 28) + 1).padStart(2, '0')}`,
    ]);
    // The rows already handed out are the caller's to keep or drop: the reader holds at most the
    // chunk it is parsing, so what it has pulled is never far past the row it hands out.
    expect(furthestAhead).toBeLessThanOrEqual(chunkSize * 2);
  });
});
