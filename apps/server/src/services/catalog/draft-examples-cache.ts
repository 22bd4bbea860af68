import { createHash } from 'node:crypto';

/**
 * The data dictionary's examples of a draft (a first value of each column, read from the first
 * rows of each table's published CSV) kept in memory, so that loading the draft page again does
 * not read every table again. An entry is the draft's, and holds the fingerprint of what its
 * examples were read from: each table's name, file, columns and object key. Object keys are the
 * SHA-256 of the bytes, so a table rewritten (a new delivery, a column dropped, a held file
 * excluded) has another fingerprint and is read again; nothing has to remember to invalidate.
 * Only the draft's data is kept, never who may see it: the PHI withholding of open findings is
 * applied to every answer after the cache (IngestService.dictionaryExamples), so a decision on a
 * finding shows at once. At most `capacity` drafts are kept, the least recently read going first.
 * Each server process has its own; they agree because each checks the fingerprint in the database.
 */

/** How many drafts' examples a server keeps. */
export const DRAFT_EXAMPLES_CACHED = 64;

/** A first example of each column of each table of a draft. */
export type TableExamples = {
  table: string;
  columns: { name: string; example: string | null }[];
}[];

/** What a draft's examples are read from. */
export interface ExampleSource {
  rows: number;
  tables: readonly { name: string; file: string; columns: readonly { name: string }[] }[];
  /** Each table file's object key; none when its object is missing. */
  objectKeys: ReadonlyMap<string, string>;
}

/** The fingerprint of what examples are read from: equal sources read the same examples. */
export function fingerprintOf(source: ExampleSource): string {
  const described = source.tables.map((t) => [
    t.name,
    t.file,
    t.columns.map((c) => c.name),
    source.objectKeys.get(t.file) ?? null,
  ]);
  return createHash('sha256')
    .update(JSON.stringify([source.rows, described]))
    .digest('hex');
}

export class DraftExamplesCache {
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recent first.
  private readonly entries = new Map<string, { fingerprint: string; examples: TableExamples }>();
  private hitCount = 0;
  private missCount = 0;

  constructor(private readonly capacity = DRAFT_EXAMPLES_CACHED) {}

  /** The draft's examples if they were read from `fingerprint`'s source (a copy), or null. */
  get(draftId: string, fingerprint: string): TableExamples | null {
    const entry = this.entries.get(draftId);
    if (entry?.fingerprint !== fingerprint) {
      this.missCount += 1;
      return null;
    }
    this.hitCount += 1;
    this.entries.delete(draftId);
    this.entries.set(draftId, entry);
    return structuredClone(entry.examples);
  }

  /** Keeps the draft's examples read from `fingerprint`'s source, replacing older ones. */
  set(draftId: string, fingerprint: string, examples: TableExamples): void {
    this.entries.delete(draftId);
    this.entries.set(draftId, { fingerprint, examples: structuredClone(examples) });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) {
        break;
      }
      this.entries.delete(oldest.value);
    }
  }

  /** Answers from memory and reads, since the start: what the cache saves. */
  stats(): { hits: number; misses: number; drafts: number } {
    return { hits: this.hitCount, misses: this.missCount, drafts: this.entries.size };
  }
}
