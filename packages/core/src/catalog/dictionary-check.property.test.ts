import { describe, expect, it } from 'vitest';
import type { DataDictionary, Snapshot } from './dataset.js';
import { checkDictionary } from './dictionary-check.js';
import { generate, random } from './generated.fixtures.js';

/** The dictionary a careful curator writes for `snapshot`: every column, dates said shifted. */
function documentFor(snapshot: Snapshot): DataDictionary {
  return {
    tables: snapshot.tables.map((table) => ({
      name: table.name,
      description: `One row per ${table.name}`,
      columns: table.columns.map((column) => ({
        name: column.name,
        description: `The ${column.name}`,
        type: column.type,
        ...(column.type === 'date' || column.type === 'datetime'
          ? { deidentification: { method: 'date-shift' as const } }
          : {}),
      })),
    })),
  };
}

const SEEDS = Array.from({ length: 400 }, (_, i) => i + 1);
const codes = (snapshot: Snapshot, dictionary: DataDictionary) =>
  checkDictionary(snapshot, dictionary).map((p) => `${p.code} ${p.table} ${p.column ?? ''}`);

describe('the dictionary check over generated versions', () => {
  it('finds nothing in a dictionary written from the tables', () => {
    for (const seed of SEEDS) {
      const { snapshot } = generate(random(seed));
      expect(checkDictionary(snapshot, documentFor(snapshot)), `seed ${seed}`).toEqual([]);
    }
  });

  it('finds exactly the one disagreement made, whichever it is', () => {
    const seen = new Set<string>();
    for (const seed of SEEDS) {
      const rng = random(seed);
      const { snapshot } = generate(rng);
      const dictionary = documentFor(snapshot);
      const entry = rng.pick(dictionary.tables);
      const documented = rng.pick(entry.columns);
      const otherType = documented.type === 'string' ? 'integer' : 'string';
      const withColumns = (columns: typeof entry.columns): DataDictionary => ({
        tables: dictionary.tables.map((t) => (t === entry ? { ...t, columns } : t)),
      });
      const cases: [string, DataDictionary, string][] = [
        [
          'drop a column',
          withColumns(entry.columns.filter((c) => c !== documented)),
          `column-undocumented ${entry.name} ${documented.name}`,
        ],
        [
          'document a column the table lacks',
          withColumns([...entry.columns, { name: 'ghost', description: 'x', type: 'string' }]),
          `column-missing ${entry.name} ghost`,
        ],
        [
          'document another type',
          withColumns(entry.columns.map((c) => (c === documented ? { ...c, type: otherType } : c))),
          `type-mismatch ${entry.name} ${documented.name}`,
        ],
        [
          'document a table the version lacks',
          { tables: [...dictionary.tables, { name: 'ghost', description: '', columns: [] }] },
          'table-missing ghost ',
        ],
        [
          'leave a table out',
          { tables: dictionary.tables.filter((t) => t !== entry) },
          `table-undocumented ${entry.name} `,
        ],
      ];
      const [label, changed, expected] = rng.pick(cases);
      seen.add(label);
      expect(codes(snapshot, changed), `seed ${seed}: ${label}`).toEqual([expected]);
    }
    expect(seen.size).toBe(5);
  });

  it('finds a key to a table that is gone, once per key', () => {
    for (const seed of SEEDS) {
      const { snapshot } = generate(random(seed));
      const [first, ...rest] = snapshot.tables;
      if (first === undefined || rest.length === 0) {
        continue;
      }
      const referring = rest.filter((t) =>
        t.foreignKeys.some((k) => k.references.table === first.name),
      );
      const problems = codes({ tables: rest }, documentFor({ tables: rest }));
      expect(problems, `seed ${seed}`).toEqual(
        referring.map((t) => `key-missing-table ${t.name} `).sort(),
      );
    }
  });
});
