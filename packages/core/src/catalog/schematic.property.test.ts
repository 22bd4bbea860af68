import { describe, expect, it } from 'vitest';
import type { Snapshot } from './dataset.js';
import { generate, random, type Random } from './generated.fixtures.js';
import { schematicSvg } from './schematic.js';

/** Names made to break markup: quotes, angle brackets, ampersands, controls, astral characters. */
function hostileName(rng: Random): string {
  const pieces = ['<', '>', '&', '"', "'", 'a', ' ', '\u0007', '😀', ']]>', '<!--', '&amp;', 'x'];
  return Array.from({ length: rng.int(1, 8) }, () => rng.pick(pieces)).join('');
}

/** Renames every table (and the keys that name it) to a hostile name. */
function disguise(
  snapshot: Snapshot,
  rng: Random,
): { snapshot: Snapshot; names: Map<string, string> } {
  const names = new Map<string, string>();
  for (const table of snapshot.tables) {
    let name = hostileName(rng);
    while ([...names.values()].includes(name)) {
      name += 'x';
    }
    names.set(table.name, name);
  }
  const rename = (name: string) => names.get(name) ?? name;
  return {
    names,
    snapshot: {
      tables: snapshot.tables.map((table) => ({
        ...table,
        name: rename(table.name),
        foreignKeys: table.foreignKeys.map((key) => ({
          ...key,
          references: { ...key.references, table: rename(key.references.table) },
        })),
      })),
    },
  };
}

const count = (svg: string, pattern: RegExp) => svg.match(pattern)?.length ?? 0;

describe('the schematic over generated versions with hostile names', () => {
  it('stays well-formed: one box per table, one connector per key, nothing injected', () => {
    for (let seed = 1; seed <= 300; seed += 1) {
      const rng = random(seed);
      const { snapshot } = disguise(generate(rng).snapshot, rng);
      const svg = schematicSvg(snapshot);
      expect(schematicSvg(snapshot), `seed ${seed}`).toBe(svg);
      // Only the elements the schematic writes, and every < opens one of them.
      const tags = new Set([...svg.matchAll(/<\/?([a-z]+)/gu)].map((m) => m[1]));
      expect([...tags].sort(), `seed ${seed}`).toEqual(
        expect.arrayContaining(['desc', 'g', 'path', 'rect', 'style', 'svg', 'text', 'title']),
      );
      expect(
        [...tags].every((t) =>
          ['circle', 'desc', 'g', 'path', 'rect', 'style', 'svg', 'text', 'title'].includes(
            t ?? '',
          ),
        ),
      ).toBe(true);
      expect(count(svg, /<[^a-z/]/gu), `seed ${seed}`).toBe(0);
      expect(count(svg, /<g class="table"/gu)).toBe(snapshot.tables.length);
      expect(count(svg, /<g class="relation"/gu)).toBe(
        snapshot.tables.reduce((sum, table) => sum + table.foreignKeys.length, 0),
      );
      // Attribute values never hold a raw quote, text never a raw angle bracket.
      for (const [, text] of svg.matchAll(/>([^<]*)</gu)) {
        expect(text, `seed ${seed}`).not.toMatch(/[<>]|&(?!(?:amp|lt|gt|quot|apos);)/u);
      }
      // eslint-disable-next-line no-control-regex -- XML 1.0 cannot carry these; they must be replaced
      expect(svg, `seed ${seed}`).not.toMatch(/[\u0000-\u0008]/u);
    }
  });
});
