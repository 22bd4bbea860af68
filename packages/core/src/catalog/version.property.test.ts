import { describe, expect, it } from 'vitest';
import { changeLog } from './change-log.js';
import { COLUMN_TYPES, type Snapshot, type TableSnapshot } from './dataset.js';
import { generate, random, WORDS, type Random, type Version } from './generated.fixtures.js';
import { diffSnapshots, type SnapshotRowKeys } from './snapshot-diff.js';
import {
  classifyChange,
  compareVersions,
  formatVersion,
  nextVersion,
  parseVersion,
  type ChangeLevel,
  type DatasetVersion,
} from './version.js';

/**
 * Property tests over many generated pairs of versions: a random snapshot, then random edits whose
 * expected effect on the version number is known, so the computed level can be checked against
 * the rules of the issue. The generator is seeded: a failure names its seed and replays.
 */

type Edit = (version: Version, rng: Random) => Version | null;

const onTable = (
  version: Version,
  rng: Random,
  change: (table: TableSnapshot, keys: string[]) => [TableSnapshot, string[]] | null,
): Version | null => {
  const table = rng.pick(version.snapshot.tables);
  const result = change(table, version.keys.get(table.name) ?? []);
  if (result === null) {
    return null;
  }
  const [changed, keys] = result;
  return {
    snapshot: { tables: version.snapshot.tables.map((t) => (t.name === table.name ? changed : t)) },
    keys: new Map([...version.keys, [table.name, keys]]),
  };
};

let counter = 0;
const fresh = (prefix: string) => `${prefix}-new-${(counter += 1)}`;

/** Edits that change the structure: each makes a major version. */
const STRUCTURE: Edit[] = [
  (version, rng) => {
    const name = rng.pick(
      WORDS.filter((word) => !version.snapshot.tables.some((t) => t.name === word)).concat([
        'extra',
      ]),
    );
    if (version.snapshot.tables.some((t) => t.name === name)) {
      return null;
    }
    const table: TableSnapshot = {
      name,
      file: `${name}.csv`,
      rowCount: 1,
      columns: [{ name: `${name}_id`, type: 'string', nullable: false }],
      primaryKey: [`${name}_id`],
      foreignKeys: [],
    };
    return {
      snapshot: { tables: [...version.snapshot.tables, table] },
      keys: new Map([...version.keys, [name, ['k']]]),
    };
  },
  (version, rng) => {
    if (version.snapshot.tables.length < 2) {
      return null;
    }
    const gone = rng.pick(version.snapshot.tables).name;
    return {
      snapshot: { tables: version.snapshot.tables.filter((t) => t.name !== gone) },
      keys: version.keys,
    };
  },
  (version, rng) =>
    onTable(version, rng, (table, keys) => [
      {
        ...table,
        columns: [
          ...table.columns,
          {
            name: fresh('column').replaceAll('-', '_'),
            type: rng.pick(COLUMN_TYPES),
            nullable: true,
          },
        ],
      },
      keys,
    ]),
  (version, rng) =>
    onTable(version, rng, (table, keys) => {
      const removable = table.columns.filter(
        (c) =>
          !table.primaryKey.includes(c.name) &&
          !table.foreignKeys.some((k) => k.columns.includes(c.name)),
      );
      if (removable.length === 0) {
        return null;
      }
      const gone = rng.pick(removable).name;
      return [{ ...table, columns: table.columns.filter((c) => c.name !== gone) }, keys];
    }),
  (version, rng) =>
    onTable(version, rng, (table, keys) => {
      const target = rng.pick(table.columns);
      const type = rng.pick(COLUMN_TYPES.filter((t) => t !== target.type));
      return [
        { ...table, columns: table.columns.map((c) => (c === target ? { ...c, type } : c)) },
        keys,
      ];
    }),
  (version, rng) =>
    onTable(version, rng, (table, keys) => {
      const target = rng.pick(table.columns);
      return [
        {
          ...table,
          columns: table.columns.map((c) => (c === target ? { ...c, nullable: !c.nullable } : c)),
        },
        keys,
      ];
    }),
  (version, rng) =>
    onTable(version, rng, (table, keys) => [{ ...table, file: `moved/${table.file}` }, keys]),
  (version, rng) => onTable(version, rng, (table, keys) => [{ ...table, primaryKey: [] }, keys]),
  (version, rng) =>
    onTable(version, rng, (table, keys) =>
      table.foreignKeys.length === 0 ? null : [{ ...table, foreignKeys: [] }, keys],
    ),
];

/** Edits of rows only. */
const ADD_ROWS: Edit = (version, rng) =>
  onTable(version, rng, (table, keys) => {
    const added = Array.from({ length: rng.int(1, 5) }, () => fresh(table.name));
    return [{ ...table, rowCount: table.rowCount + added.length }, [...keys, ...added]];
  });
const REMOVE_ROWS: Edit = (version, rng) =>
  onTable(version, rng, (table, keys) => {
    if (keys.length === 0) {
      return null;
    }
    const kept = keys.slice(rng.int(1, keys.length));
    return [{ ...table, rowCount: kept.length }, kept];
  });
/** As many rows removed as added: the count stays, only keys show it. */
const REPLACE_ROWS: Edit = (version, rng) =>
  onTable(version, rng, (table, keys) => {
    if (keys.length === 0) {
      return null;
    }
    return [table, [...keys.slice(1), fresh(table.name)]];
  });

interface Case {
  seed: number;
  previous: Version;
  next: Version;
  expected: ChangeLevel;
  /** The level when row keys are not given (replaced rows are invisible then). */
  expectedByCounts: ChangeLevel;
}

/** A table's structure in a canonical form: what must be equal for a change not to be major. */
const structure = (table: TableSnapshot) =>
  JSON.stringify([
    table.file,
    [...table.columns]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((c) => [c.name, c.type, c.nullable]),
    table.primaryKey,
    table.foreignKeys.map((key) => JSON.stringify(key)).sort(),
  ]);

function makeCase(seed: number): Case {
  const rng = random(seed);
  const previous = generate(rng);
  let next = previous;
  for (let n = rng.int(0, 4); n > 0; n -= 1) {
    const roll = rng.next();
    const edit =
      roll < 0.3
        ? rng.pick(STRUCTURE)
        : roll < 0.55
          ? ADD_ROWS
          : roll < 0.8
            ? REMOVE_ROWS
            : REPLACE_ROWS;
    next = edit(next, rng) ?? next;
  }
  // The oracle, written apart from diffSnapshots: compare canonical structures, keys and counts.
  const before = new Map(previous.snapshot.tables.map((table) => [table.name, table]));
  const common = next.snapshot.tables.filter((table) => before.has(table.name));
  const major =
    common.length !== before.size ||
    common.length !== next.snapshot.tables.length ||
    common.some((table) => {
      const old = before.get(table.name);
      return old === undefined || structure(old) !== structure(table);
    });
  const keyAdded = common.some((table) => {
    const old = new Set(previous.keys.get(table.name));
    return (next.keys.get(table.name) ?? []).some((key) => !old.has(key));
  });
  const grew = common.some((table) => table.rowCount > (before.get(table.name)?.rowCount ?? 0));
  return {
    seed,
    previous,
    next,
    expected: major ? 'major' : keyAdded ? 'minor' : 'patch',
    expectedByCounts: major ? 'major' : grew ? 'minor' : 'patch',
  };
}

const rowKeys = (c: Case): SnapshotRowKeys => ({ previous: c.previous.keys, next: c.next.keys });
const SEEDS = Array.from({ length: 600 }, (_, i) => i + 1);

describe('version arithmetic over generated diffs', () => {
  it('classifies every diff by the rules of the issue, with row keys and with counts only', () => {
    const seen = new Set<string>();
    for (const seed of SEEDS) {
      const c = makeCase(seed);
      const withKeys = classifyChange(
        diffSnapshots(c.previous.snapshot, c.next.snapshot, rowKeys(c)),
      );
      const withCounts = classifyChange(diffSnapshots(c.previous.snapshot, c.next.snapshot));
      expect(withKeys.level, `seed ${seed}`).toBe(c.expected);
      expect(withCounts.level, `seed ${seed}`).toBe(c.expectedByCounts);
      expect(withKeys.reasons.length, `seed ${seed}`).toBeGreaterThan(0);
      seen.add(`${c.expected}/${c.expectedByCounts}`);
    }
    // The generator reaches every interesting combination, replaced rows included.
    expect([...seen].sort()).toEqual(['major/major', 'minor/minor', 'minor/patch', 'patch/patch']);
  });

  it('always moves forward, by exactly one step of the computed level', () => {
    const rng = random(7);
    for (const seed of SEEDS) {
      const c = makeCase(seed);
      const previous: DatasetVersion = {
        major: rng.int(1, 12),
        minor: rng.int(0, 12),
        patch: rng.int(0, 3),
      };
      const computed = nextVersion(
        previous,
        diffSnapshots(c.previous.snapshot, c.next.snapshot, rowKeys(c)),
      );
      expect(compareVersions(computed.version, previous), `seed ${seed}`).toBe(1);
      const expected = {
        major: { major: previous.major + 1, minor: 0, patch: 0 },
        minor: { major: previous.major, minor: previous.minor + 1, patch: 0 },
        patch: { ...previous, patch: previous.patch + 1 },
      }[computed.level];
      expect(computed.version, `seed ${seed}`).toEqual(expected);
      expect(parseVersion(formatVersion(computed.version))).toEqual(computed.version);
    }
  });

  it('mirrors: what one direction adds the other removes', () => {
    for (const seed of SEEDS) {
      const c = makeCase(seed);
      const forward = diffSnapshots(c.previous.snapshot, c.next.snapshot, rowKeys(c));
      const backward = diffSnapshots(c.next.snapshot, c.previous.snapshot, {
        previous: c.next.keys,
        next: c.previous.keys,
      });
      expect(backward.tablesAdded, `seed ${seed}`).toEqual(forward.tablesRemoved);
      expect(backward.tablesRemoved, `seed ${seed}`).toEqual(forward.tablesAdded);
      forward.tables.forEach((table, i) => {
        const back = backward.tables[i];
        expect(back?.name).toBe(table.name);
        expect(back?.columnsAdded).toEqual(table.columnsRemoved);
        expect(back?.columnsRemoved).toEqual(table.columnsAdded);
        expect(back?.columnsChanged).toEqual(
          table.columnsChanged.map((change) => ({
            name: change.name,
            from: change.to,
            to: change.from,
          })),
        );
        expect(back?.rows.added).toBe(table.rows.removed);
        expect(back?.rows.removed).toBe(table.rows.added);
      });
    }
  });

  it('finds nothing between a version and itself, and calls that a patch', () => {
    for (const seed of SEEDS.slice(0, 100)) {
      const { snapshot, keys } = generate(random(seed));
      const diff = diffSnapshots(snapshot, snapshot, { previous: keys, next: keys });
      expect(changeLog(diff)).toEqual([]);
      expect(classifyChange(diff).level).toBe('patch');
    }
  });

  it('writes the same change log whatever order tables and columns arrive in', () => {
    for (const seed of SEEDS.slice(0, 200)) {
      const c = makeCase(seed);
      const rng = random(seed * 31);
      const scramble = (snapshot: Snapshot): Snapshot => ({
        tables: rng
          .shuffle(snapshot.tables)
          .map((table) => ({ ...table, columns: rng.shuffle(table.columns) })),
      });
      const log = changeLog(diffSnapshots(c.previous.snapshot, c.next.snapshot, rowKeys(c)));
      const again = changeLog(
        diffSnapshots(scramble(c.previous.snapshot), scramble(c.next.snapshot), rowKeys(c)),
      );
      expect(again, `seed ${seed}`).toEqual(log);
      // One entry per fact of the diff.
      const diff = diffSnapshots(c.previous.snapshot, c.next.snapshot, rowKeys(c));
      const facts =
        diff.tablesAdded.length +
        diff.tablesRemoved.length +
        diff.tables.reduce(
          (sum, t) =>
            sum +
            t.columnsAdded.length +
            t.columnsRemoved.length +
            t.columnsChanged.length +
            t.foreignKeysAdded.length +
            t.foreignKeysRemoved.length +
            Number(t.primaryKey !== null) +
            Number(t.file !== null) +
            Number(t.rows.added > 0) +
            Number(t.rows.removed > 0),
          0,
        );
      expect(log).toHaveLength(facts);
    }
  });
});
