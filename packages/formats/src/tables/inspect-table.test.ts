import { describe, expect, it } from 'vitest';
import { FormatError } from '../format-error.js';
import { formatCsvRow } from './csv.js';
import { inspectTable } from './inspect-table.js';

const encoder = new TextEncoder();

async function* bytesOf(text: string, size = 65_536): AsyncGenerator<Uint8Array> {
  const bytes = encoder.encode(text);
  for (let i = 0; i < bytes.length; i += size) {
    yield bytes.subarray(i, i + size);
  }
}

const patients = [
  ['patient_ngsci_id', 'age', 'weight_kg', 'smoker', 'admitted', 'ecg_time', 'mrn', 'note'],
  ['p1', '64', '80.5', 'true', '2021-03-04', '2021-03-04T10:15:00Z', '000123', 'first, visit'],
  ['p2', '', '77', 'false', '2021-03-05', '2021-03-05T11:00:00Z', '000124', null],
  ['p3', '71', null, 'FALSE', null, '2021-03-06 09:30', '000125', ''],
]
  .map(formatCsvRow)
  .join('');

describe('inspecting a table', () => {
  it('describes every column, the row count and the size', async () => {
    const inspection = await inspectTable(bytesOf(`\uFEFF${patients}`, 7), {
      name: 'patients.csv',
    });
    expect(inspection).toMatchObject({
      format: 'csv',
      rowCount: 3,
      bytes: encoder.encode(`\uFEFF${patients}`).length,
      keys: null,
    });
    expect(inspection.columns).toEqual([
      { name: 'patient_ngsci_id', type: 'string', nullable: false, example: 'p1', empty: 0 },
      { name: 'age', type: 'integer', nullable: true, example: '64', empty: 1 },
      { name: 'weight_kg', type: 'number', nullable: true, example: '80.5', empty: 1 },
      { name: 'smoker', type: 'boolean', nullable: false, example: 'true', empty: 0 },
      { name: 'admitted', type: 'date', nullable: true, example: '2021-03-04', empty: 1 },
      {
        name: 'ecg_time',
        type: 'datetime',
        nullable: false,
        example: '2021-03-04T10:15:00Z',
        empty: 0,
      },
      { name: 'mrn', type: 'string', nullable: false, example: '000123', empty: 0 },
      { name: 'note', type: 'string', nullable: true, example: 'first, visit', empty: 2 },
    ]);
  });

  it('cuts long examples short', async () => {
    const inspection = await inspectTable(bytesOf(`text\n${'y'.repeat(500)}\n`), {
      name: 'long.csv',
    });
    expect(inspection.columns[0]?.example).toBe('y'.repeat(100));
  });

  it('checks a primary key: distinct, duplicate and empty keys, and the set to look keys up in', async () => {
    const rows = [['ecg_id', 'lead', 'patient_ngsci_id']];
    for (let i = 0; i < 2000; i++) {
      rows.push([String(Math.floor(i / 2)), i % 2 === 0 ? 'I' : 'II', `p${i % 7}`]);
    }
    rows.push(['5', 'I', 'p0'], ['', 'I', 'p1'], ['7', '', 'p1']);
    const text = rows.map(formatCsvRow).join('');
    const inspection = await inspectTable(bytesOf(text), {
      name: 'leads.csv',
      keyColumns: ['ecg_id', 'lead'],
    });
    const keys = inspection.keys;
    expect(keys).not.toBeNull();
    expect(keys?.distinct).toBe(2000);
    expect(keys?.duplicates).toBe(1);
    expect(keys?.empty).toBe(2);
    expect(keys?.duplicateRows).toEqual([2002]);
    expect(keys?.values.has(['999', 'II'])).toBe(true);
    expect(keys?.values.has(['999', 'III'])).toBe(false);
    // A composite key is not the concatenation of its values.
    expect(keys?.values.has(['99', '9II'])).toBe(false);

    const single = await inspectTable(bytesOf(text), {
      name: 'leads.csv',
      keyColumns: ['ecg_id'],
    });
    expect(single.keys?.distinct).toBe(1000);
    expect(single.keys?.duplicates).toBe(1002);
    expect(single.keys?.duplicateRows).toHaveLength(10);
  });

  it('stops at the bound on distinct keys', async () => {
    const text = ['id', ...Array.from({ length: 50 }, (_, i) => String(i))].join('\n');
    const error: unknown = await inspectTable(bytesOf(text), {
      name: 'ids.csv',
      keyColumns: ['id'],
      maxKeys: 20,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FormatError);
    expect(error).toMatchObject({ code: 'too_many_keys', line: 22 });
  });

  it('names a key column the header lacks, and releases the source', async () => {
    let isReleased = false;
    async function* source() {
      try {
        yield encoder.encode('a,b\n1,2\n');
        yield encoder.encode('3,4\n');
      } finally {
        isReleased = true;
      }
    }
    await expect(
      inspectTable(source(), { name: 'ab.csv', keyColumns: ['id'] }),
    ).rejects.toMatchObject({ code: 'missing_column', file: 'ab.csv' });
    expect(isReleased).toBe(true);
  });

  it('passes on the reader errors', async () => {
    await expect(
      inspectTable(bytesOf('a,b\n1,2\n3\n'), { name: 'ragged.csv' }),
    ).rejects.toMatchObject({ code: 'ragged_row', line: 3 });
  });
});
