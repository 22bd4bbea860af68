// eslint-disable-next-line no-restricted-imports -- the test keeps a rendered example for people to look at
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { column, outcomes, pathology, patients, slides } from './catalog.fixtures.js';
import type { Snapshot, TableSnapshot } from './dataset.js';
import { escapeXml, schematicSvg } from './schematic.js';

const OUT = fileURLToPath(new URL('../../../../test-results/schematic/', import.meta.url));

interface Element {
  name: string;
  attributes: Record<string, string>;
  children: Element[];
  text: string;
}

/**
 * A strict reader for the XML subset the schematic writes (elements, double-quoted attributes,
 * text, the five predefined entities): it throws on anything else, so markup smuggled in through
 * a name cannot pass for structure.
 */
function parseXml(xml: string): Element {
  const root: Element = { name: '#root', attributes: {}, children: [], text: '' };
  const stack: Element[] = [root];
  const TAG = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/y;
  const ATTRIBUTE = /\s+([\w:-]+)="([^"<>]*)"/gu;
  const decode = (text: string) => {
    if (/&(?!(?:amp|lt|gt|quot|apos);)/u.test(text)) {
      throw new Error(`bare & in ${text}`);
    }
    return text
      .replace(/&lt;/gu, '<')
      .replace(/&gt;/gu, '>')
      .replace(/&quot;/gu, '"')
      .replace(/&apos;/gu, "'")
      .replace(/&amp;/gu, '&');
  };
  let at = 0;
  while (at < xml.length) {
    const open = xml.indexOf('<', at);
    const text = xml.slice(at, open === -1 ? xml.length : open);
    if (text.includes('>')) {
      throw new Error(`raw > in text: ${text}`);
    }
    const current = stack.at(-1);
    if (current === undefined) {
      throw new Error('text after the root element');
    }
    current.text += decode(text);
    if (open === -1) {
      break;
    }
    TAG.lastIndex = open;
    const match = TAG.exec(xml);
    if (match === null) {
      throw new Error(`not a tag at ${open}: ${xml.slice(open, open + 40)}`);
    }
    const [, closing, name = '', rawAttributes = '', selfClosing] = match;
    if (closing === '/') {
      const top = stack.pop();
      if (top?.name !== name) {
        throw new Error(`</${name}> closes <${top?.name ?? 'nothing'}>`);
      }
    } else {
      const attributes: Record<string, string> = {};
      for (const [, key = '', value = ''] of rawAttributes.matchAll(ATTRIBUTE)) {
        attributes[key] = decode(value);
      }
      const element: Element = { name, attributes, children: [], text: '' };
      current.children.push(element);
      if (selfClosing !== '/') {
        stack.push(element);
      }
    }
    at = TAG.lastIndex;
  }
  if (stack.length !== 1 || root.children.length !== 1) {
    throw new Error('unbalanced document');
  }
  const [svg] = root.children;
  if (svg === undefined) {
    throw new Error('empty document');
  }
  return svg;
}

function all(element: Element, predicate: (e: Element) => boolean): Element[] {
  return [
    ...(predicate(element) ? [element] : []),
    ...element.children.flatMap((child) => all(child, predicate)),
  ];
}

const byClass = (element: Element, name: string) =>
  all(element, (e) => (e.attributes['class'] ?? '').split(' ').includes(name));

const textOf = (element: Element): string => element.text + element.children.map(textOf).join('');

/** The x and y of a table's box, from its translate(x y). */
function position(svg: Element, table: string): [number, number] {
  const box = byClass(svg, 'table').find((e) => e.attributes['data-table'] === table);
  const match = /translate\(([\d.]+) ([\d.]+)\)/u.exec(box?.attributes['transform'] ?? '');
  if (match === null) {
    throw new Error(`no box for ${table}`);
  }
  return [Number(match[1]), Number(match[2])];
}

describe('the schematic', () => {
  const svg = schematicSvg(pathology);
  const doc = parseXml(svg);

  it('draws one box per table with its name, row count and columns, PK and FK marked', () => {
    const boxes = byClass(doc, 'table');
    expect(boxes.map((box) => box.attributes['data-table'])).toEqual([
      'patient',
      'outcomes',
      'biopsy-slides',
    ]);
    const outcomesBox = boxes[1];
    if (outcomesBox === undefined) {
      throw new Error('no outcomes box');
    }
    expect(textOf(byClass(outcomesBox, 'table-name')[0] ?? outcomesBox)).toBe('outcomes');
    expect(textOf(byClass(outcomesBox, 'rows')[0] ?? outcomesBox)).toBe('4,213 rows');
    const columns = byClass(outcomesBox, 'column');
    expect(columns.map((c) => c.attributes['data-column'])).toEqual(
      outcomes.columns.map((c) => c.name),
    );
    expect(columns.map((c) => textOf(c))).toEqual([
      'PKbiopsy_idstring',
      'FKpatient_ngsci_idstring',
      'stagestring',
      'case_yearinteger',
      'biopsy_dtdate',
      'mortalityboolean',
      'death_dtdate?',
    ]);
    expect(byClass(outcomesBox, 'pk').map((c) => c.attributes['data-column'])).toEqual([
      'biopsy_id',
    ]);
    expect(byClass(outcomesBox, 'fk').map((c) => c.attributes['data-column'])).toEqual([
      'patient_ngsci_id',
    ]);
  });

  it('lays tables out in layers by key dependency: patient, then study, then image', () => {
    const [patientX] = position(doc, 'patient');
    const [outcomesX] = position(doc, 'outcomes');
    const [slidesX] = position(doc, 'biopsy-slides');
    expect(patientX).toBeLessThan(outcomesX);
    expect(outcomesX).toBeLessThan(slidesX);
  });

  it('connects each foreign key to its table, from the child', () => {
    const relations = byClass(doc, 'relation').map((r) => [
      r.attributes['data-from'],
      r.attributes['data-to'],
      r.attributes['data-columns'],
    ]);
    expect(relations).toEqual([
      ['biopsy-slides', 'outcomes', 'biopsy_id'],
      ['biopsy-slides', 'patient', 'patient_ngsci_id'],
      ['outcomes', 'patient', 'patient_ngsci_id'],
    ]);
    for (const relation of byClass(doc, 'relation')) {
      expect(byClass(relation, 'link')).toHaveLength(1);
      // A crow's foot at the child and two bars at the parent (keys that may not be empty).
      expect(byClass(relation, 'end')).toHaveLength(3);
    }
  });

  it('runs a connector that skips a layer above every box, not across the tables between', () => {
    const long = byClass(doc, 'relation').find(
      (r) => r.attributes['data-to'] === 'patient' && r.attributes['data-from'] === 'biopsy-slides',
    );
    const d = long === undefined ? '' : (byClass(long, 'link')[0]?.attributes['d'] ?? '');
    const lane = Number(/V([\d.]+)H/u.exec(d)?.[1]);
    const tops = ['patient', 'outcomes', 'biopsy-slides'].map((table) => position(doc, table)[1]);
    expect(lane).toBeLessThan(Math.min(...tops));
    // The neighbouring layers connect directly, with a curve.
    const short = byClass(doc, 'relation').find((r) => r.attributes['data-from'] === 'outcomes');
    expect(short === undefined ? '' : byClass(short, 'link')[0]?.attributes['d']).toMatch(
      /^M[\d.]+ [\d.]+C/u,
    );
  });

  it('marks a key that may be empty as zero-or-one at the parent', () => {
    const optional: Snapshot = {
      tables: [
        patients,
        {
          ...outcomes,
          columns: outcomes.columns.map((c) =>
            c.name === 'patient_ngsci_id' ? { ...c, nullable: true } : c,
          ),
        },
      ],
    };
    const relation = byClass(parseXml(schematicSvg(optional)), 'relation')[0];
    expect(relation === undefined ? [] : byClass(relation, 'optional')).toHaveLength(1);
  });

  it('shows at most 14 columns of a wide table, its keys always, and counts the rest', () => {
    const wide: TableSnapshot = {
      ...patients,
      columns: [
        ...Array.from({ length: 30 }, (_, i) => column(`flag_${i}`, 'boolean')),
        ...patients.columns,
      ],
    };
    const [box] = byClass(parseXml(schematicSvg({ tables: [wide] })), 'table');
    if (box === undefined) {
      throw new Error('no box');
    }
    const shown = byClass(box, 'column').map((c) => c.attributes['data-column']);
    expect(shown).toHaveLength(13);
    expect(shown).toContain('patient_ngsci_id');
    expect(shown.slice(0, 3)).toEqual(['flag_0', 'flag_1', 'flag_2']);
    expect(byClass(box, 'more').map(textOf)).toEqual(['… 21 more columns']);
  });

  it('is described for screen readers', () => {
    expect(doc.attributes['role']).toBe('img');
    expect(doc.attributes['aria-labelledby']).toBe('schematic-title schematic-desc');
    const title = doc.children.find((e) => e.name === 'title');
    const desc = doc.children.find((e) => e.name === 'desc');
    expect(title?.attributes['id']).toBe('schematic-title');
    expect(textOf(title ?? doc)).toBe('Entity-relationship diagram of 3 tables');
    expect(textOf(desc ?? doc)).toBe(
      'Tables: biopsy-slides (72,104 rows, 4 columns, key slide_id); outcomes (4,213 rows, 7 columns, key biopsy_id); patient (4,213 rows, 4 columns, key patient_ngsci_id). ' +
        'Relations: each row of biopsy-slides refers to one row of outcomes by biopsy_id; each row of biopsy-slides refers to one row of patient by patient_ngsci_id; each row of outcomes refers to one row of patient by patient_ngsci_id.',
    );
    expect(schematicSvg(pathology, { idPrefix: 'v2 "x"' })).toContain(
      'aria-labelledby="v2__x_-title v2__x_-desc"',
    );
  });

  it('is the same for the same tables, in whatever order they come', () => {
    const reversed: Snapshot = {
      tables: [...pathology.tables].reverse().map((table) => ({
        ...table,
        foreignKeys: [...table.foreignKeys].reverse(),
      })),
    };
    expect(schematicSvg(reversed)).toBe(svg);
    expect(schematicSvg(pathology)).toBe(svg);
  });

  it('escapes hostile names so they cannot inject markup', () => {
    const evil = '</text><script>alert(1)</script><text>';
    const hostile: Snapshot = {
      tables: [
        {
          ...patients,
          name: evil,
          file: 'a"b\'.csv',
          columns: [column('x" onload="alert(1)', 'string'), column('a & b \u0001', 'integer')],
          primaryKey: ['x" onload="alert(1)'],
        },
        {
          ...slides,
          foreignKeys: [{ columns: ['biopsy_id'], references: { table: evil, columns: ['x'] } }],
        },
      ],
    };
    const rendered = schematicSvg(hostile);
    expect(rendered).not.toContain('<script');
    expect(rendered).not.toContain('onload="');
    const parsed = parseXml(rendered);
    expect(all(parsed, (e) => e.name === 'script')).toEqual([]);
    const box = byClass(parsed, 'table').find((e) => e.attributes['data-table'] === evil);
    expect(box).toBeDefined();
    expect(byClass(parsed, 'column').map((c) => c.attributes['data-column'])).toContain(
      'x" onload="alert(1)',
    );
    expect(rendered).toContain('a &amp; b \ufffd');
    expect(byClass(parsed, 'relation')[0]?.attributes['data-to']).toBe(evil);
    expect(escapeXml('<a href="x">\'&</a>')).toBe(
      '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&lt;/a&gt;',
    );
    expect(escapeXml('\ud800 lone')).toBe('\ufffd lone');
  });

  it('copes with cycles, tables that refer to themselves, keys to missing tables and no tables', () => {
    const cyclic: TableSnapshot[] = [
      {
        ...patients,
        name: 'a',
        columns: [column('a_id', 'string'), column('b_id', 'string')],
        primaryKey: ['a_id'],
        foreignKeys: [{ columns: ['b_id'], references: { table: 'b', columns: ['b_id'] } }],
      },
      {
        ...patients,
        name: 'b',
        columns: [column('b_id', 'string'), column('a_id', 'string'), column('parent', 'string')],
        primaryKey: ['b_id'],
        foreignKeys: [
          { columns: ['a_id'], references: { table: 'a', columns: ['a_id'] } },
          { columns: ['parent'], references: { table: 'b', columns: ['b_id'] } },
          { columns: ['parent'], references: { table: 'gone', columns: ['x'] } },
        ],
      },
    ];
    const parsed = parseXml(schematicSvg({ tables: cyclic }));
    expect(byClass(parsed, 'table')).toHaveLength(2);
    expect(byClass(parsed, 'relation').map((r) => r.attributes['data-to'])).toEqual([
      'b',
      'a',
      'b',
    ]);
    const empty = parseXml(schematicSvg({ tables: [] }));
    expect(textOf(empty)).toContain('No tables');
  });

  it('writes an example for people to look at', () => {
    mkdirSync(OUT, { recursive: true });
    const ecg: TableSnapshot = {
      name: 'ecg-metadata',
      file: 'ecg-tables/ecg-metadata.csv',
      rowCount: 118_402,
      columns: [
        column('ecg_id', 'string'),
        column('patient_ngsci_id', 'string'),
        column('acquired_datetime', 'datetime'),
        column('heart_rate', 'integer', true),
      ],
      primaryKey: ['ecg_id'],
      foreignKeys: [
        {
          columns: ['patient_ngsci_id'],
          references: { table: 'patient', columns: ['patient_ngsci_id'] },
        },
      ],
    };
    writeFileSync(`${OUT}pathology.svg`, svg);
    writeFileSync(`${OUT}two-studies.svg`, schematicSvg({ tables: [...pathology.tables, ecg] }));
    const encounters: TableSnapshot = {
      name: 'ed-encounter',
      file: 'ed-encounter.csv',
      rowCount: 1,
      columns: [
        column('ed_enc_id', 'string'),
        column('patient_ngsci_id', 'string'),
        column('ecg_id', 'string', true),
        column('age_at_admit', 'integer'),
        ...['test', 'cath', 'stent_or_cabg'].map((name) => column(`${name}_010_day`, 'boolean')),
        column('macetrop_pos_or_death_030', 'boolean'),
        ...Array.from({ length: 12 }, (_, i) =>
          column(`troponin_${i}_ng_per_l_measured_value`, 'number', true),
        ),
      ],
      primaryKey: ['ed_enc_id'],
      foreignKeys: [
        {
          columns: ['patient_ngsci_id'],
          references: { table: 'patient', columns: ['patient_ngsci_id'] },
        },
        { columns: ['ecg_id'], references: { table: 'ecg-metadata', columns: ['ecg_id'] } },
      ],
    };
    writeFileSync(`${OUT}emergency.svg`, schematicSvg({ tables: [patients, ecg, encounters] }));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });
});
