import { COLUMN_TYPES, type Snapshot, type TableSnapshot } from './dataset.js';

/**
 * Seeded random snapshots for property tests: a failure names its seed, and the seed replays it.
 * Tables are named like studies (patient, ecg, biopsy …), each keyed by `<name>_id`, most referring
 * to an earlier one, with a few random columns of random types; `keys` lists every row's key.
 */

/** mulberry32: a small, good-enough seeded generator (public domain, Tommy Ettinger). */
export function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => {
    const item = items[int(0, items.length - 1)];
    if (item === undefined) {
      throw new Error('pick from an empty list');
    }
    return item;
  };
  const shuffle = <T>(items: readonly T[]): T[] => {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = int(0, i);
      const a = copy[i];
      const b = copy[j];
      if (a !== undefined && b !== undefined) {
        copy[i] = b;
        copy[j] = a;
      }
    }
    return copy;
  };
  return { next, int, pick, shuffle };
}
export type Random = ReturnType<typeof random>;

export const WORDS = [
  'patient',
  'ecg',
  'biopsy',
  'slide',
  'image',
  'encounter',
  'lab',
  'outcome',
  'study',
  'xray',
];
const COLUMNS = [
  'stage',
  'age',
  'sex',
  'case_year',
  'biopsy_dt',
  'death_dt',
  'mortality',
  'rate',
  'axis',
  'label',
];

export interface Version {
  snapshot: Snapshot;
  keys: Map<string, string[]>;
}

export function generate(rng: Random): Version {
  const names = rng.shuffle(WORDS).slice(0, rng.int(1, 5));
  const keys = new Map<string, string[]>();
  const tables = names.map((name, index): TableSnapshot => {
    const rowCount = rng.int(0, 30);
    keys.set(
      name,
      Array.from({ length: rowCount }, (_, i) => `${name}-${i}`),
    );
    const extra = rng.shuffle(COLUMNS).slice(0, rng.int(0, 4));
    const parent = index > 0 ? names[rng.int(0, index - 1)] : undefined;
    return {
      name,
      file: `${name}.csv`,
      rowCount,
      columns: [
        { name: `${name}_id`, type: 'string', nullable: false },
        ...(parent === undefined
          ? []
          : [{ name: `${parent}_id`, type: 'string' as const, nullable: false }]),
        ...extra.map((column) => ({
          name: column,
          type: rng.pick(COLUMN_TYPES),
          nullable: rng.next() < 0.3,
        })),
      ],
      primaryKey: [`${name}_id`],
      foreignKeys:
        parent === undefined
          ? []
          : [
              {
                columns: [`${parent}_id`],
                references: { table: parent, columns: [`${parent}_id`] },
              },
            ],
    };
  });
  return { snapshot: { tables }, keys };
}
