import { formatCount } from './change-log.js';
import type { Column, Snapshot, TableSnapshot } from './dataset.js';
import { compareText } from './snapshot-diff.js';

/**
 * The schematic of a version: its entity-relationship diagram drawn from the declared primary and
 * foreign keys, so it is never out of date (patient -> study -> image). Tables stand in layers
 * from left to right, each after every table it refers to; a connector runs from each foreign key
 * to the table it refers to, with a crow's foot (many) at the child and a bar (one) at the parent,
 * a circle beside the bar when the key may be empty (zero or one). The SVG is the same for the
 * same snapshot, byte for byte, and every name in it is escaped: names come from deliveries.
 */

export interface SchematicOptions {
  /** Prefix of the ids inside the SVG, for pages that show several (letters, digits, - and _). */
  idPrefix?: string;
}

const CHAR = 7.2; // width of one character of 12px monospace (0.6em)
const LINE = 18;
const HEADER = 42;
const PAD = 10;
const MIN_WIDTH = 170;
const LAYER_GAP = 96;
const ROW_GAP = 28;
const MARGIN = 24;
const MAX_NAME = 40;
const LANE = 10;
/** Columns drawn per box at most; key columns always are, the rest are counted in a last line. */
const MAX_COLUMNS = 14;

/**
 * Text safe inside XML 1.0 elements and quoted attributes: the five special characters escaped,
 * and characters XML cannot carry (controls, lone surrogates, U+FFFE/U+FFFF) replaced by U+FFFD.
 */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- XML 1.0 §2.2 Char excludes these
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/gu, '\ufffd')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu, '\ufffd')
      .replace(/&/gu, '&amp;')
      .replace(/</gu, '&lt;')
      .replace(/>/gu, '&gt;')
      .replace(/"/gu, '&quot;')
      .replace(/'/gu, '&apos;')
  );
}

/** A name cut to what fits a box, whole code points only. */
function clip(name: string): string {
  const chars = [...name];
  return chars.length <= MAX_NAME ? name : `${chars.slice(0, MAX_NAME - 1).join('')}…`;
}

const num = (value: number) => String(Math.round(value * 10) / 10);
const length = (text: string) => [...text].length;

interface Box {
  table: TableSnapshot;
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Row of each column (0 for the first), by name. */
  rows: Map<string, number>;
}

/**
 * The layer of each table: 0 when it refers to no other table of the snapshot, else one more than
 * the deepest table it refers to. A cycle of keys is cut where the walk meets it again.
 */
function layers(tables: readonly TableSnapshot[]): Map<string, number> {
  const byName = new Map(tables.map((table) => [table.name, table]));
  const depth = new Map<string, number>();
  const walking = new Set<string>();
  const visit = (table: TableSnapshot): number => {
    const known = depth.get(table.name);
    if (known !== undefined) {
      return known;
    }
    walking.add(table.name);
    let result = 0;
    for (const key of table.foreignKeys) {
      const parent = byName.get(key.references.table);
      if (parent !== undefined && parent.name !== table.name && !walking.has(parent.name)) {
        result = Math.max(result, visit(parent) + 1);
      }
    }
    walking.delete(table.name);
    depth.set(table.name, result);
    return result;
  };
  for (const table of [...tables].sort((a, b) => compareText(a.name, b.name))) {
    visit(table);
  }
  return depth;
}

function markers(table: TableSnapshot, column: string): string {
  const marks: string[] = [];
  if (table.primaryKey.includes(column)) {
    marks.push('PK');
  }
  if (table.foreignKeys.some((key) => key.columns.includes(column))) {
    marks.push('FK');
  }
  return marks.join(' ');
}

/** The columns a box shows (keys first kept, then the others in order) and how many it leaves out. */
function shownColumns(table: TableSnapshot): { columns: Column[]; hidden: number } {
  if (table.columns.length <= MAX_COLUMNS) {
    return { columns: table.columns, hidden: 0 };
  }
  const isKey = (column: Column) => markers(table, column.name) !== '';
  const keys = table.columns.filter(isKey).length;
  let room = Math.max(0, MAX_COLUMNS - 1 - keys);
  const columns = table.columns.filter((column) => {
    if (isKey(column)) {
      return true;
    }
    room -= 1;
    return room >= 0;
  });
  return { columns, hidden: table.columns.length - columns.length };
}

/** How many lines a box has below its header. */
function lineCount(table: TableSnapshot): number {
  const { columns, hidden } = shownColumns(table);
  return columns.length + (hidden > 0 ? 1 : 0);
}

function boxWidth(table: TableSnapshot, gutter: number): number {
  const widest = Math.max(
    length(clip(table.name)) + 2,
    length(rowsLabel(table)),
    ...shownColumns(table).columns.map(
      (column) => gutter + length(clip(column.name)) + 2 + column.type.length + 1,
    ),
  );
  return Math.max(MIN_WIDTH, Math.ceil(widest * CHAR + 2 * PAD));
}

const rowsLabel = (table: TableSnapshot) =>
  `${formatCount(table.rowCount)} ${table.rowCount === 1 ? 'row' : 'rows'}`;

const gutterOf = (table: TableSnapshot) =>
  Math.max(0, ...table.columns.map((column) => markers(table, column.name).length)) + 1;

/** Tables placed in layers, ordered in each layer near the tables they refer to. */
function place(
  tables: readonly TableSnapshot[],
  top: number,
): {
  boxes: Map<string, Box>;
  width: number;
  height: number;
} {
  const depth = layers(tables);
  const deepest = Math.max(-1, ...depth.values());
  const columns = Array.from({ length: deepest + 1 }, (): TableSnapshot[] => []);
  for (const table of tables) {
    columns[depth.get(table.name) ?? 0]?.push(table);
  }
  const order = new Map<string, number>();
  const sorted = columns.map((layer, index) => {
    const barycentre = (table: TableSnapshot) => {
      const parents = table.foreignKeys
        .map((key) => order.get(key.references.table))
        .filter((position): position is number => position !== undefined);
      return parents.length === 0 ? 0 : parents.reduce((a, b) => a + b, 0) / parents.length;
    };
    const ordered = [...layer].sort(
      (a, b) => (index === 0 ? 0 : barycentre(a) - barycentre(b)) || compareText(a.name, b.name),
    );
    ordered.forEach((table, position) => order.set(table.name, position));
    return ordered;
  });
  const boxes = new Map<string, Box>();
  const heights = sorted.map(
    (layer) =>
      layer.reduce((sum, table) => sum + HEADER + lineCount(table) * LINE + PAD, 0) +
      ROW_GAP * Math.max(0, layer.length - 1),
  );
  const height = Math.max(0, ...heights);
  let x = MARGIN;
  sorted.forEach((layer, index) => {
    const width = Math.max(0, ...layer.map((table) => boxWidth(table, gutterOf(table))));
    let y = MARGIN + top + (height - (heights[index] ?? 0)) / 2;
    for (const table of layer) {
      const boxHeight = HEADER + lineCount(table) * LINE + PAD;
      boxes.set(table.name, {
        table,
        layer: index,
        x,
        y,
        width,
        height: boxHeight,
        rows: new Map(shownColumns(table).columns.map((column, row) => [column.name, row])),
      });
      y += boxHeight + ROW_GAP;
    }
    x += width + LAYER_GAP;
  });
  return {
    boxes,
    width: Math.max(x - LAYER_GAP + MARGIN, 2 * MARGIN + MIN_WIDTH),
    height: height + top + 2 * MARGIN,
  };
}

/** The middle of a column's row, or of the header when the column is not there. */
function rowMiddle(box: Box, column: string | undefined): number {
  const row = column === undefined ? undefined : box.rows.get(column);
  return row === undefined ? box.y + HEADER / 2 : box.y + HEADER + row * LINE + LINE / 2;
}

function renderBox(box: Box): string {
  const { table, width, height } = box;
  const gutter = gutterOf(table);
  const { columns, hidden } = shownColumns(table);
  const lines = columns.map((column, row) => {
    const mark = markers(table, column.name);
    const y = HEADER + row * LINE + LINE * 0.7;
    const kind = mark.includes('PK') ? ' pk' : mark.includes('FK') ? ' fk' : '';
    return (
      `<g class="column${kind}" data-column="${escapeXml(column.name)}">` +
      (mark === '' ? '' : `<text x="${PAD}" y="${num(y)}" class="mark">${mark}</text>`) +
      `<text x="${num(PAD + gutter * CHAR)}" y="${num(y)}" class="name">${escapeXml(clip(column.name))}</text>` +
      `<text x="${num(width - PAD)}" y="${num(y)}" class="type" text-anchor="end">${column.type}${column.nullable ? '?' : ''}</text>` +
      `</g>`
    );
  });
  return (
    `<g class="table" data-table="${escapeXml(table.name)}" transform="translate(${num(box.x)} ${num(box.y)})">` +
    `<title>${escapeXml(table.name)} (${escapeXml(table.file)})</title>` +
    `<rect class="box" width="${num(width)}" height="${num(height)}" rx="6"/>` +
    `<path class="header" d="M0 6a6 6 0 0 1 6-6h${num(width - 12)}a6 6 0 0 1 6 6v${HEADER - 6}h-${num(width)}z"/>` +
    `<text x="${PAD}" y="18" class="table-name">${escapeXml(clip(table.name))}</text>` +
    `<text x="${PAD}" y="34" class="rows">${rowsLabel(table)}</text>` +
    lines.join('') +
    (hidden === 0
      ? ''
      : `<text x="${PAD}" y="${num(HEADER + columns.length * LINE + LINE * 0.7)}" class="more">… ${hidden} more ${hidden === 1 ? 'column' : 'columns'}</text>`) +
    `</g>`
  );
}

/** Crow's foot (many) or bar and bar/circle (one) where a connector meets a box edge at (x, y). */
function many(x: number, y: number, outward: number): string {
  const toe = x + outward * 12;
  return `<path class="end" d="M${num(toe)} ${num(y)}L${num(x)} ${num(y - 7)}M${num(toe)} ${num(y)}L${num(x)} ${num(y)}M${num(toe)} ${num(y)}L${num(x)} ${num(y + 7)}"/>`;
}

function one(x: number, y: number, outward: number, optional: boolean): string {
  const bar = x + outward * 8;
  const second = optional
    ? `<circle class="end optional" cx="${num(x + outward * 17)}" cy="${num(y)}" r="4"/>`
    : `<path class="end" d="M${num(x + outward * 13)} ${num(y - 6)}v12"/>`;
  return `<path class="end" d="M${num(bar)} ${num(y - 6)}v12"/>${second}`;
}

interface Relation {
  child: Box;
  parent: Box;
  columns: readonly string[];
  referenced: readonly string[];
  optional: boolean;
}

/** Is this a connector that would cross a layer of boxes (so it runs in a lane above them)? */
const isLong = (relation: Relation) => relation.parent.layer < relation.child.layer - 1;

function renderRelation(relation: Relation, lane: number): string {
  const { child, parent } = relation;
  const y1 = rowMiddle(child, relation.columns[0]);
  const y2 = rowMiddle(parent, relation.referenced[0]);
  let path: string;
  let ends: string;
  if (isLong(relation)) {
    // Over a layer: out of the child's left edge, up to its lane above every box, across, and
    // down into the parent's right edge, so that it never runs over another table.
    const x1 = child.x;
    const x2 = parent.x + parent.width;
    const step = 18 + 6 * (lane % 10);
    const laneY = MARGIN + lane * LANE;
    path = `M${num(x1)} ${num(y1)}H${num(x1 - step)}V${num(laneY)}H${num(x2 + step)}V${num(y2)}H${num(x2)}`;
    ends = many(x1, y1, -1) + one(x2, y2, 1, relation.optional);
  } else if (parent.layer < child.layer) {
    // Parent in the layer on the left: leave the child's left edge, enter the parent's right edge.
    const x1 = child.x;
    const x2 = parent.x + parent.width;
    const bend = Math.max(24, (x1 - x2) / 2);
    path = `M${num(x1)} ${num(y1)}C${num(x1 - bend)} ${num(y1)} ${num(x2 + bend)} ${num(y2)} ${num(x2)} ${num(y2)}`;
    ends = many(x1, y1, -1) + one(x2, y2, 1, relation.optional);
  } else {
    // Same layer (a cycle cut, or a table that refers to itself): loop round the right edges.
    const x1 = child.x + child.width;
    const x2 = parent.x + parent.width;
    const reach = Math.max(x1, x2) + 36;
    const y2Shifted = child === parent && y1 === y2 ? y2 + LINE / 3 : y2;
    path = `M${num(x1)} ${num(y1)}C${num(reach)} ${num(y1)} ${num(reach)} ${num(y2Shifted)} ${num(x2)} ${num(y2Shifted)}`;
    ends = many(x1, y1, 1) + one(x2, y2Shifted, 1, relation.optional);
  }
  const from = `${relation.child.table.name} (${relation.columns.join(', ')})`;
  const to = `${relation.parent.table.name} (${relation.referenced.join(', ')})`;
  return (
    `<g class="relation" data-from="${escapeXml(child.table.name)}" data-to="${escapeXml(parent.table.name)}" data-columns="${escapeXml(relation.columns.join(','))}">` +
    `<title>${escapeXml(`${from} refers to ${to}`)}</title>` +
    `<path class="link" d="${path}"/>${ends}</g>`
  );
}

function relationsOf(boxes: ReadonlyMap<string, Box>): Relation[] {
  const relations: Relation[] = [];
  for (const child of boxes.values()) {
    for (const key of child.table.foreignKeys) {
      const parent = boxes.get(key.references.table);
      if (parent === undefined) {
        continue;
      }
      relations.push({
        child,
        parent,
        columns: key.columns,
        referenced: key.references.columns,
        optional: key.columns.some(
          (name) => child.table.columns.find((column) => column.name === name)?.nullable === true,
        ),
      });
    }
  }
  return relations.sort(
    (a, b) =>
      compareText(a.child.table.name, b.child.table.name) ||
      compareText(a.parent.table.name, b.parent.table.name) ||
      compareText(a.columns.join(','), b.columns.join(',')),
  );
}

/** The words a screen reader says for the diagram. */
function description(snapshot: Snapshot, relations: readonly Relation[]): string {
  const tables = [...snapshot.tables]
    .sort((a, b) => compareText(a.name, b.name))
    .map((table) => {
      const key = table.primaryKey.length === 0 ? 'no key' : `key ${table.primaryKey.join(', ')}`;
      return `${table.name} (${rowsLabel(table)}, ${table.columns.length} columns, ${key})`;
    });
  const links = relations.map(
    (relation) =>
      `each row of ${relation.child.table.name} refers to one row of ${relation.parent.table.name} by ${relation.columns.join(', ')}`,
  );
  return [
    `Tables: ${tables.join('; ')}.`,
    links.length === 0 ? 'No relations.' : `Relations: ${links.join('; ')}.`,
  ].join(' ');
}

const STYLE =
  `text{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px;fill:#1d2733}` +
  `.box{fill:#fff;stroke:#4a5b73;stroke-width:1.2}.header{fill:#e6edf6}` +
  `.table-name{font-weight:700;font-size:13px}.rows{fill:#5a6675;font-size:11px}` +
  `.type,.more{fill:#5a6675}.more{font-style:italic}.mark{font-size:10px;font-weight:700}.pk .mark,.pk .name{fill:#8a4b00}` +
  `.fk .mark{fill:#1f5f8b}.link,.end{fill:none;stroke:#4a5b73;stroke-width:1.3;stroke-linejoin:round}` +
  `.optional{fill:#fff}`;

/**
 * The entity-relationship diagram of `snapshot` as a standalone SVG document: one box per table
 * (name, row count, columns with PK/FK marks and types, `?` when a column may be empty), in layers
 * by key dependency, with a connector from each foreign key to its table. Deterministic, escaped,
 * and described for screen readers (`role="img"`, `<title>`, `<desc>`).
 */
export function schematicSvg(snapshot: Snapshot, options: SchematicOptions = {}): string {
  const prefix = (options.idPrefix ?? 'schematic').replace(/[^A-Za-z0-9_-]/gu, '_');
  // Place once to learn the layers, then again with room above for the lanes of long connectors.
  const long = relationsOf(place(snapshot.tables, 0).boxes).filter(isLong).length;
  const { boxes, width, height } = place(snapshot.tables, long === 0 ? 0 : long * LANE + 8);
  const relations = relationsOf(boxes);
  let lane = 0;
  const connectors = relations.map((relation) =>
    renderRelation(relation, isLong(relation) ? lane++ : 0),
  );
  const count = snapshot.tables.length;
  const title = `Entity-relationship diagram of ${count} ${count === 1 ? 'table' : 'tables'}`;
  const body =
    count === 0
      ? `<text x="${MARGIN}" y="${MARGIN + 14}">No tables</text>`
      : [...boxes.values()].map(renderBox).join('') + connectors.join('');
  const svgHeight = count === 0 ? 2 * MARGIN + 20 : height;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${num(width)}" height="${num(svgHeight)}" viewBox="0 0 ${num(width)} ${num(svgHeight)}" aria-labelledby="${prefix}-title ${prefix}-desc">` +
    `<title id="${prefix}-title">${title}</title>` +
    `<desc id="${prefix}-desc">${escapeXml(description(snapshot, relations))}</desc>` +
    `<style>${STYLE}</style>` +
    `<rect width="100%" height="100%" fill="#f7f9fc"/>` +
    body +
    `</svg>`
  );
}
