import { randomBytes } from 'node:crypto';
import { AppError } from '@lantern/core';
import {
  changeLog,
  checkPublication,
  checkRequestedVersion,
  diffSnapshots,
  KeyIntegrityCheck,
  rowKey,
  formatVersion,
  lintNaming,
  nextVersion,
  orderSections,
  parseVersion,
  refuseTransition,
  schematicSvg,
  type AccessTier,
  type Modality,
  type Author,
  type ChangeLevel,
  type ChangeLogEntry,
  type Citation,
  type DataDictionary,
  type Documentation,
  type ForeignKey,
  type KeyIntegrityProblem,
  type NextVersion,
  type SnapshotRowKeys,
  type Partner,
  type PublicationProblem,
  type Snapshot,
  type TableSnapshot,
} from '@lantern/core/catalog';
import { phiBlocks } from '@lantern/deid';
import {
  FormatError,
  formatCsvRow,
  inspectTable,
  KeySet,
  readCsv,
  type TableInspection,
} from '@lantern/formats';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import {
  catalogRepository,
  type CatalogEntryRow,
  type DatasetRow,
  type VersionRow,
} from '../../repositories/catalog/catalog.repository.js';
import { heldFileRepository } from '../../repositories/ingest/held-file.repository.js';
import { ingestRepository } from '../../repositories/ingest/ingest.repository.js';
import { withinBytes } from '../../storage/byte-limit.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { AuditService } from '../audit/audit.service.js';
import { DraftExamplesCache, fingerprintOf, type TableExamples } from './draft-examples-cache.js';

/** What a curator says of a dataset (the catalog card and the page header). */
export interface DatasetInput {
  slug: string;
  title: string;
  problem: string;
  category: string;
  partners: Partner[];
  authors: Author[];
  citation: Citation;
  accessTier: AccessTier;
  modalities: Modality[];
  tags: string[];
}

/** A dataset as the catalog shows it. */
export interface DatasetView extends DatasetInput {
  synthetic: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A card of the catalog. */
export interface CatalogCard extends DatasetView {
  latestVersion: string | null;
  latestPublishedAt: string | null;
  hasDraft: boolean;
}

/** A version in a dataset's history. */
export interface VersionSummary {
  version: string | null;
  status: 'draft' | 'published' | 'retired';
  changeLevel: ChangeLevel | null;
  publishedAt: string | null;
  retiredAt: string | null;
  updatedAt: string;
}

/** One version whole: documentation, tables, dictionary, change log. Never any data. */
export interface VersionView extends VersionSummary {
  documentation: (Documentation[number] & { title: string })[];
  snapshot: Snapshot;
  dictionary: DataDictionary;
  changeLog: ChangeLogEntry[];
  changeReasons: string[];
  notes: string;
  files: { path: string; size: number }[];
}

/** What publishing the draft now would do, and what stands in its way. */
export interface PublicationPreview {
  version: string;
  /** The computed number with the previous one, its level and why. */
  computed: NextVersion;
  previous: string | null;
  level: ChangeLevel;
  reasons: string[];
  changeLog: ChangeLogEntry[];
  problems: PublicationProblem[];
  publishable: boolean;
}

/** `draft`, or a published number such as `2.1`. */
export type VersionRef = string;

/** The largest table accepted through the API (ingest takes larger deliveries). */
export const TABLE_MAX_BYTES = 1024 ** 3;

const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;
const json = (value: unknown) => JSON.stringify(value);

/**
 * The catalog: datasets, their documentation and their versions. Anyone reads published versions
 * (documentation, tables described, dictionary, schematic: never data); curators edit a dataset's
 * single draft and publish it under the number its changes make, after the dictionary, keys and
 * naming checks pass. Published versions never change (the database refuses too).
 */
/** The published versions whose ids the airlock's check keeps in memory (a few MB each at most). */
const IDENTIFIER_VERSIONS_KEPT = 16;

/** One version's id columns and id values. */
interface VersionIdentifiers {
  columns: Set<string>;
  values: KeySet;
}

export class CatalogService {
  /** The drafts' dictionary examples, read once per content of their tables. */
  readonly examplesCache = new DraftExamplesCache();
  /** Published versions' ids for the airlock, by version id, the one used last at the end. */
  private readonly identifierCache = new Map<string, Promise<VersionIdentifiers>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly objects: ObjectStore,
  ) {}

  async categories(): Promise<{ slug: string; title: string; description: string }[]> {
    const rows = await catalogRepository.categories(this.db);
    return rows.map(({ slug, title, description }) => ({ slug, title, description }));
  }

  async addCategory(input: { slug: string; title: string; description: string }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const added = await catalogRepository.insertCategory(trx, {
        ...input,
        created_by: 'user',
      });
      if (!added) {
        throw new AppError('conflict', `the category ${input.slug} exists already`);
      }
      await this.audit.record(trx, {
        action: 'catalog.add_category',
        target: `category:${input.slug}`,
        details: { title: input.title },
      });
    });
  }

  async list(
    canCurate: boolean,
    filter: {
      category?: string | undefined;
      partner?: string | undefined;
      country?: string | undefined;
      modality?: Modality | undefined;
      q?: string | undefined;
    },
  ): Promise<CatalogCard[]> {
    const rows = await catalogRepository.list(this.db, {
      includeUnpublished: canCurate,
      category: filter.category,
      partner: filter.partner,
      country: filter.country,
      modality: filter.modality,
      search: filter.q,
    });
    // Whether a draft is being prepared is the curators' business.
    return rows.map((row) => ({ ...card(row), hasDraft: canCurate && row.has_draft }));
  }

  /** A dataset with its versions; drafts and unpublished datasets only for curators. */
  async get(
    slug: string,
    canCurate: boolean,
  ): Promise<DatasetView & { versions: VersionSummary[] }> {
    const dataset = await this.dataset(slug);
    const versions = (await catalogRepository.versions(this.db, dataset.id)).filter(
      (v) => canCurate || v.status !== 'draft',
    );
    if (!canCurate && versions.length === 0) {
      throw notFound(slug);
    }
    return { ...present(dataset), versions: versions.map(summary) };
  }

  async version(slug: string, ref: VersionRef, canCurate: boolean): Promise<VersionView> {
    const dataset = await this.dataset(slug);
    const row = await this.findVersion(dataset, ref, canCurate);
    const files = await catalogRepository.files(this.db, row.id);
    return {
      ...summary(row),
      documentation: orderSections(row.documentation).map((section) => ({
        ...section,
        title: section.kind === 'free' ? section.title : sectionHeading(section.kind),
      })),
      snapshot: row.snapshot,
      dictionary: row.dictionary,
      changeLog: row.change_log,
      changeReasons: row.change_reasons,
      notes: row.notes,
      files: files.map((file) => ({ path: file.path, size: Number(file.size) })),
    };
  }

  /**
   * A published version's files with the objects holding them (tables among them), for the
   * dataset views instances mount (compute/dataset-view.ts). Never a draft: drafts still change.
   */
  async publishedFiles(
    slug: string,
    number: string,
  ): Promise<{
    slug: string;
    version: string;
    files: { path: string; objectKey: string; size: number }[];
  }> {
    const dataset = await this.dataset(slug);
    const row = await this.findVersion(dataset, number, false);
    if (row.status !== 'published' || row.number === null) {
      throw new AppError('not_found', `${dataset.slug} has no published version ${number}`);
    }
    const files = await catalogRepository.files(this.db, row.id);
    return {
      slug: dataset.slug,
      version: row.number,
      files: files.map((file) => ({
        path: file.path,
        objectKey: file.object_key,
        size: Number(file.size),
      })),
    };
  }

  /**
   * The pseudonymous ids in the tables of these versions, for the airlock's `identifiers` check:
   * the names of their id columns (`patient_ngsci_id`, keys, and every `<study>_id`, lower case)
   * and whether a value is one of theirs, held in memory that does not grow with the values'
   * length. A published or retired version's ids are read once and kept (it never changes), for
   * the IDENTIFIER_VERSIONS_KEPT versions used last; a draft's are read each time.
   */
  async identifiers(
    versions: readonly { id: string; status: string; snapshot: Snapshot }[],
  ): Promise<{ columns: Set<string>; has: (value: string) => boolean }> {
    const each = await Promise.all(versions.map((version) => this.identifiersOf(version)));
    return {
      columns: new Set(each.flatMap((ids) => [...ids.columns])),
      has: (value) => each.some((ids) => ids.values.has([value])),
    };
  }

  private identifiersOf(version: {
    id: string;
    status: string;
    snapshot: Snapshot;
  }): Promise<VersionIdentifiers> {
    if (version.status !== 'published' && version.status !== 'retired') {
      return this.readIdentifiers(version);
    }
    const kept = this.identifierCache.get(version.id);
    // Used last goes last: the map's first entry is the one to let go.
    this.identifierCache.delete(version.id);
    const ids = kept ?? this.readIdentifiers(version);
    this.identifierCache.set(version.id, ids);
    // A failed read is not kept.
    ids.catch(() => {
      if (this.identifierCache.get(version.id) === ids) {
        this.identifierCache.delete(version.id);
      }
    });
    for (const id of this.identifierCache.keys()) {
      if (this.identifierCache.size <= IDENTIFIER_VERSIONS_KEPT) {
        break;
      }
      this.identifierCache.delete(id);
    }
    return ids;
  }

  private async readIdentifiers(version: {
    id: string;
    snapshot: Snapshot;
  }): Promise<VersionIdentifiers> {
    const columns = new Set<string>();
    const values = new KeySet();
    const files = new Map(
      (await catalogRepository.files(this.db, version.id)).map((f) => [f.path, f.object_key]),
    );
    for (const table of version.snapshot.tables) {
      const ids = new Set(
        [
          ...table.primaryKey,
          ...table.foreignKeys.flatMap((key) => key.columns),
          ...table.columns.map((column) => column.name).filter((name) => /_id$/iu.test(name)),
        ].map((name) => name.toLowerCase()),
      );
      const key = files.get(table.file);
      if (ids.size === 0 || key === undefined) {
        continue;
      }
      ids.forEach((name) => columns.add(name));
      await this.eachRow(key, table.file, (names, row) => {
        names.forEach((name, i) => {
          const value = row[i];
          if (
            value !== null &&
            value !== undefined &&
            value !== '' &&
            ids.has(name.toLowerCase())
          ) {
            values.add([value]);
          }
        });
      });
    }
    return { columns, values };
  }

  /** The entity-relationship diagram of a version, drawn from its declared keys. */
  async schematic(slug: string, ref: VersionRef, canCurate: boolean): Promise<string> {
    const dataset = await this.dataset(slug);
    const row = await this.findVersion(dataset, ref, canCurate);
    return schematicSvg(row.snapshot, { idPrefix: `schematic-${dataset.slug}` });
  }

  /** A new dataset, with an empty draft to fill. */
  async create(
    actor: string,
    input: DatasetInput,
    options: { synthetic?: boolean } = {},
  ): Promise<DatasetView> {
    await this.db.transaction().execute(async (trx) => {
      if ((await catalogRepository.bySlug(trx, input.slug)) !== undefined) {
        throw new AppError('conflict', `a dataset named ${input.slug} exists already`);
      }
      await this.requireCategory(trx, input.category);
      const id = newId('ds');
      await catalogRepository.insertDataset(trx, {
        id,
        ...columnsOf(input),
        slug: input.slug,
        synthetic: options.synthetic === true,
        created_by: actor,
      });
      await catalogRepository.insertVersion(trx, {
        id: newId('dv'),
        dataset_id: id,
        status: 'draft',
        snapshot: json({ tables: [] }),
        dictionary: json({ tables: [] }),
        documentation: json([]),
        created_by: actor,
      });
      await this.audit.record(trx, {
        action: 'catalog.create_dataset',
        target: `dataset:${input.slug}`,
        details: { title: input.title, category: input.category },
      });
    });
    return present(await this.dataset(input.slug));
  }

  /** Changes what the catalog says of a dataset (its slug stays). */
  async update(slug: string, input: Omit<DatasetInput, 'slug'>): Promise<DatasetView> {
    await this.db.transaction().execute(async (trx) => {
      const dataset = await catalogRepository.bySlugForUpdate(trx, slug);
      if (dataset === undefined) {
        throw notFound(slug);
      }
      await this.requireCategory(trx, input.category);
      await catalogRepository.updateDataset(trx, dataset.id, columnsOf(input));
      await this.audit.record(trx, {
        action: 'catalog.update_dataset',
        target: `dataset:${slug}`,
        details: { title: input.title },
      });
    });
    return present(await this.dataset(slug));
  }

  /** Opens a draft from the newest version (tables, files, dictionary, documentation). */
  async openDraft(actor: string, slug: string): Promise<VersionView> {
    await this.db.transaction().execute(async (trx) => {
      const dataset = await catalogRepository.bySlugForUpdate(trx, slug);
      if (dataset === undefined) {
        throw notFound(slug);
      }
      if ((await catalogRepository.draft(trx, dataset.id)) !== undefined) {
        throw new AppError('conflict', `${slug} has a draft already; edit it`);
      }
      const latest = await catalogRepository.latestPublished(trx, dataset.id);
      const id = newId('dv');
      await catalogRepository.insertVersion(trx, {
        id,
        dataset_id: dataset.id,
        status: 'draft',
        snapshot: json(latest?.snapshot ?? { tables: [] }),
        dictionary: json(latest?.dictionary ?? { tables: [] }),
        documentation: json(latest?.documentation ?? []),
        created_by: actor,
      });
      if (latest !== undefined) {
        await catalogRepository.copyFiles(trx, latest.id, id);
      }
      await this.audit.record(trx, {
        action: 'catalog.open_draft',
        target: `dataset:${slug}`,
        details: { from: latest?.number ?? null },
      });
    });
    return this.version(slug, 'draft', true);
  }

  async setDocumentation(slug: string, documentation: Documentation): Promise<VersionView> {
    return this.editDraft(slug, 'catalog.edit_documentation', async (trx, draft) => {
      await catalogRepository.updateVersion(trx, draft.id, { documentation: json(documentation) });
      return { sections: documentation.length };
    });
  }

  async setDictionary(slug: string, dictionary: DataDictionary): Promise<VersionView> {
    return this.editDraft(slug, 'catalog.edit_dictionary', async (trx, draft) => {
      await catalogRepository.updateVersion(trx, draft.id, { dictionary: json(dictionary) });
      return { tables: dictionary.tables.length };
    });
  }

  /**
   * Puts a table into the draft as its file was read (columns, types, rows), replacing one of the
   * same name, with the bytes already in the object store under `objectKey`.
   */
  async putTable(
    slug: string,
    table: Omit<TableSnapshot, 'primaryKey' | 'foreignKeys'>,
    file: { objectKey: string; size: number },
  ): Promise<VersionView> {
    return this.editDraft(slug, 'catalog.put_table', async (trx, draft) => {
      const previous = draft.snapshot.tables.find((t) => t.name === table.name);
      const next: TableSnapshot = {
        ...table,
        // Keys survive a new delivery of the same table when their columns are still there.
        primaryKey: keep(previous?.primaryKey ?? [], table),
        foreignKeys: (previous?.foreignKeys ?? []).filter((key) =>
          key.columns.every((c) => table.columns.some((col) => col.name === c)),
        ),
      };
      if (previous !== undefined && previous.file !== table.file) {
        await catalogRepository.deleteFile(trx, draft.id, previous.file);
      }
      await catalogRepository.putFiles(trx, draft.id, [
        { path: table.file, objectKey: file.objectKey, size: file.size },
      ]);
      const tables = [...draft.snapshot.tables.filter((t) => t.name !== table.name), next];
      await catalogRepository.updateVersion(trx, draft.id, { snapshot: json({ tables }) });
      return {
        table: table.name,
        file: table.file,
        rows: table.rowCount,
        columns: table.columns.length,
        object: file.objectKey,
      };
    });
  }

  /**
   * A table delivered as a CSV file: its bytes are streamed into the object store, then read once
   * to learn its columns, their types and its rows, and the draft's table of that name is replaced.
   * A file that cannot be read is refused with where and why; the draft stays as it was.
   */
  async uploadTable(
    slug: string,
    input: { table: string; file: string; body: AsyncIterable<Uint8Array> },
  ): Promise<VersionView> {
    const dataset = await this.dataset(slug);
    await this.requireDraft(this.db, dataset);
    const stored = await this.objects.put(
      withinBytes(
        input.body,
        TABLE_MAX_BYTES,
        () =>
          new AppError(
            'payload_too_large',
            `a table uploaded here may be at most ${TABLE_MAX_BYTES / 1024 ** 3} GiB; larger ones arrive by ingest`,
          ),
      ),
    );
    const object = await this.objects.get(stored.key);
    if (object === null) {
      throw new Error(`the object ${stored.key} just stored cannot be read`);
    }
    let inspection: TableInspection;
    try {
      inspection = await inspectTable(object.body, { name: input.file });
    } catch (error) {
      if (error instanceof FormatError) {
        throw new AppError('validation_failed', `the table cannot be read: ${error.message}`, {
          errors: [{ path: 'body', message: error.message }],
        });
      }
      throw error;
    } finally {
      object.body.destroy();
    }
    return this.putTable(
      slug,
      {
        name: input.table,
        file: input.file,
        rowCount: inspection.rowCount,
        columns: inspection.columns.map(({ name, type, nullable }) => ({ name, type, nullable })),
      },
      { objectKey: stored.key, size: stored.size },
    );
  }

  async setKeys(
    slug: string,
    tableName: string,
    keys: { primaryKey: string[]; foreignKeys: ForeignKey[] },
  ): Promise<VersionView> {
    return this.editDraft(slug, 'catalog.set_keys', async (trx, draft) => {
      const table = draft.snapshot.tables.find((t) => t.name === tableName);
      if (table === undefined) {
        throw new AppError('not_found', `the draft of ${slug} has no table ${tableName}`);
      }
      const tables = draft.snapshot.tables.map((t) =>
        t.name === tableName ? { ...t, ...keys } : t,
      );
      await catalogRepository.updateVersion(trx, draft.id, { snapshot: json({ tables }) });
      return { table: tableName, ...keys };
    });
  }

  async removeTable(slug: string, tableName: string): Promise<VersionView> {
    return this.editDraft(slug, 'catalog.remove_table', async (trx, draft) => {
      const table = draft.snapshot.tables.find((t) => t.name === tableName);
      if (table === undefined) {
        throw new AppError('not_found', `the draft of ${slug} has no table ${tableName}`);
      }
      await catalogRepository.deleteFile(trx, draft.id, table.file);
      const tables = draft.snapshot.tables.filter((t) => t.name !== tableName);
      await catalogRepository.updateVersion(trx, draft.id, { snapshot: json({ tables }) });
      return { table: tableName };
    });
  }

  /** Is there a dataset of this slug? */
  async exists(slug: string): Promise<boolean> {
    return (await catalogRepository.bySlug(this.db, slug)) !== undefined;
  }

  async hasDraft(slug: string): Promise<boolean> {
    const dataset = await this.dataset(slug);
    return (await catalogRepository.draft(this.db, dataset.id)) !== undefined;
  }

  /** The ids of a dataset and its draft (for the ingest runs that fill it). */
  async draftIds(slug: string): Promise<{ datasetId: string; draftId: string }> {
    const dataset = await this.dataset(slug);
    const draft = await this.requireDraft(this.db, dataset);
    return { datasetId: dataset.id, draftId: draft.id };
  }

  /** Sets the keys ingest inferred, table by table, in one change. */
  async setKeysFromIngest(
    slug: string,
    keys: ReadonlyMap<string, { primaryKey: string[]; foreignKeys: ForeignKey[] }>,
  ): Promise<VersionView> {
    return this.editDraft(slug, 'catalog.set_keys', async (trx, draft) => {
      const tables = draft.snapshot.tables.map((t) => ({ ...t, ...(keys.get(t.name) ?? {}) }));
      await catalogRepository.updateVersion(trx, draft.id, { snapshot: json({ tables }) });
      return { tables: [...keys.keys()], inferred: true };
    });
  }

  /**
   * A delivery's native files become the draft's: every file but the tables' (`tableFiles`) is
   * replaced by `files`, already stored.
   */
  async replaceNativeFiles(
    slug: string,
    tableFiles: readonly string[],
    files: readonly { path: string; objectKey: string; size: number }[],
  ): Promise<VersionView> {
    return this.editDraft(slug, 'catalog.put_files', async (trx, draft) => {
      await catalogRepository.deleteFilesExcept(trx, draft.id, tableFiles);
      await catalogRepository.putFiles(trx, draft.id, files);
      return { files: files.length };
    });
  }

  /**
   * Puts stored files into the draft within the caller's transaction (held files a curator
   * released, recorded in the same transaction as the decision), audited as catalog.put_files.
   */
  async putDraftFiles(
    trx: Transaction<Database>,
    slug: string,
    files: readonly { path: string; objectKey: string; size: number }[],
  ): Promise<void> {
    const dataset = await catalogRepository.bySlugForUpdate(trx, slug);
    if (dataset === undefined) {
      throw notFound(slug);
    }
    const draft = await this.requireDraft(trx, dataset);
    await catalogRepository.putFiles(trx, draft.id, files);
    await this.audit.record(trx, {
      action: 'catalog.put_files',
      target: `dataset:${slug}`,
      details: { files: files.length, released: true },
    });
  }

  /**
   * The dictionary after a delivery: what curators wrote of columns still there stays (with the
   * type the tables now have); columns gone leave it. New columns wait for their words.
   */
  async keepDictionaryOf(slug: string): Promise<VersionView> {
    return this.editDraft(slug, 'catalog.edit_dictionary', async (trx, draft) => {
      const tables = draft.dictionary.tables.flatMap((entry) => {
        const table = draft.snapshot.tables.find((t) => t.name === entry.name);
        if (table === undefined) {
          return [];
        }
        const columns = entry.columns.flatMap((column) => {
          const found = table.columns.find((c) => c.name === column.name);
          return found === undefined ? [] : [{ ...column, type: found.type }];
        });
        return [{ ...entry, columns }];
      });
      await catalogRepository.updateVersion(trx, draft.id, { dictionary: json({ tables }) });
      return { tables: tables.length };
    });
  }

  /**
   * Rewrites a draft table's stored CSV through `change` (null: leave it), as dropping a column a
   * PHI finding names needs.
   */
  async rewriteTable(
    slug: string,
    tableName: string,
    change: (columns: string[]) => {
      columns: string[];
      row: (values: (string | null)[]) => (string | null)[];
    } | null,
  ): Promise<VersionView> {
    const dataset = await this.dataset(slug);
    const draft = await this.requireDraft(this.db, dataset);
    const table = draft.snapshot.tables.find((t) => t.name === tableName);
    const file =
      table === undefined
        ? undefined
        : (await catalogRepository.files(this.db, draft.id)).find((f) => f.path === table.file);
    if (table === undefined || file === undefined) {
      throw new AppError('not_found', `the draft of ${slug} has no table ${tableName}`);
    }
    const object = await this.objects.get(file.object_key);
    if (object === null) {
      throw new Error(`the object ${file.object_key} of ${table.file} cannot be read`);
    }
    const rows = await readCsv(object.body, { name: table.file });
    const plan = change([...rows.columns]);
    if (plan === null) {
      object.body.destroy();
      return this.version(slug, 'draft', true);
    }
    async function* body(): AsyncGenerator<Uint8Array> {
      const encoder = new TextEncoder();
      try {
        yield encoder.encode(formatCsvRow(plan?.columns ?? []));
        for await (const row of rows) {
          yield encoder.encode(formatCsvRow(plan?.row(row.values) ?? []));
        }
      } finally {
        object?.body.destroy();
      }
    }
    const keys = { primaryKey: table.primaryKey, foreignKeys: table.foreignKeys };
    await this.uploadTable(slug, { table: tableName, file: table.file, body: body() });
    return this.setKeys(slug, tableName, {
      primaryKey: keys.primaryKey.filter((c) => plan.columns.includes(c)),
      foreignKeys: keys.foreignKeys.filter((k) => k.columns.every((c) => plan.columns.includes(c))),
    });
  }

  /**
   * A first example of each column of each draft table, for the data dictionary's skeleton: the
   * first non-empty value among a table's first `rows` rows (its de-identified, published CSV), cut
   * to 100 characters; null when those rows have none. Read once per content of the draft's tables
   * and kept in memory (draft-examples-cache.ts), never stored; who may see them is decided after.
   */
  async draftExamples(slug: string, rows = 1000): Promise<TableExamples> {
    const dataset = await this.dataset(slug);
    const draft = await this.requireDraft(this.db, dataset);
    const { tables } = draft.snapshot;
    const objectKeys = new Map(
      (
        await catalogRepository.filesAt(
          this.db,
          draft.id,
          tables.map((t) => t.file),
        )
      ).map((f) => [f.path, f.object_key]),
    );
    const fingerprint = fingerprintOf({ rows, tables, objectKeys });
    const cached = this.examplesCache.get(draft.id, fingerprint);
    if (cached !== null) {
      return cached;
    }
    const examples: TableExamples = [];
    for (const table of tables) {
      const key = objectKeys.get(table.file);
      const found =
        key === undefined
          ? new Map<string, string>()
          : await this.firstValues(
              key,
              table.file,
              new Set(table.columns.map((c) => c.name)),
              rows,
            );
      examples.push({
        table: table.name,
        columns: table.columns.map((c) => ({ name: c.name, example: found.get(c.name) ?? null })),
      });
    }
    this.examplesCache.set(draft.id, fingerprint, examples);
    return examples;
  }

  /** The first non-empty value of each of `wanted` columns among a CSV object's first `rows` rows. */
  private async firstValues(
    key: string,
    file: string,
    wanted: ReadonlySet<string>,
    rows: number,
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const object = await this.objects.get(key);
    if (object === null) {
      return found;
    }
    try {
      const csv = await readCsv(object.body, { name: file });
      let read = 0;
      for await (const row of csv) {
        csv.columns.forEach((name, i) => {
          const value = row.values[i] ?? '';
          if (wanted.has(name) && !found.has(name) && value.trim() !== '') {
            found.set(name, value.slice(0, 100));
          }
        });
        read += 1;
        if (read >= rows || found.size === wanted.size) {
          break;
        }
      }
    } finally {
      object.body.destroy();
    }
    return found;
  }

  /** The number, change log and problems publishing the draft now would give. */
  async preview(slug: string): Promise<PublicationPreview> {
    const dataset = await this.dataset(slug);
    const draft = await this.requireDraft(this.db, dataset);
    return this.previewOf(this.db, dataset, draft);
  }

  /**
   * Publishes the draft under the number its changes make (a number the curator typed must be
   * that one), with the generated change log beside the curator's notes; refused with every
   * problem listed when the dictionary, keys or names do not hold.
   */
  async publish(
    actor: string,
    slug: string,
    input: { version?: string | undefined; notes: string },
  ): Promise<VersionView> {
    const number = await this.db.transaction().execute(async (trx) => {
      const dataset = await catalogRepository.bySlugForUpdate(trx, slug);
      if (dataset === undefined) {
        throw notFound(slug);
      }
      const draft = await this.requireDraft(trx, dataset);
      const preview = await this.previewOf(trx, dataset, draft);
      if (!preview.publishable) {
        const blocking = preview.problems.filter((p) => p.severity === 'blocking');
        throw new AppError(
          'conflict',
          `the draft of ${slug} cannot be published: ${blocking.length} ${blocking.length === 1 ? 'problem' : 'problems'} to fix first`,
          {
            errors: blocking.map((p) => ({
              path: p.column === undefined ? p.table : `${p.table}.${p.column}`,
              message: p.message,
            })),
          },
        );
      }
      const requested = checkRequestedVersion(preview.computed, input.version);
      if (!requested.ok) {
        throw new AppError('conflict', requested.message, {
          errors: [{ path: 'body.version', message: requested.message }],
        });
      }
      const { major, minor, patch } = requested.version;
      await catalogRepository.updateVersion(trx, draft.id, {
        status: 'published',
        number: preview.version,
        major,
        minor,
        patch,
        notes: input.notes,
        change_log: json(preview.changeLog),
        change_level: preview.level,
        change_reasons: json(preview.reasons),
        published_at: new Date(),
        published_by: actor,
      });
      await this.audit.record(trx, {
        action: 'catalog.publish',
        target: `dataset:${slug}`,
        details: {
          version: preview.version,
          level: preview.level,
          warnings: preview.problems.length,
        },
      });
      return preview.version;
    });
    return this.version(slug, number, true);
  }

  /** Retires a published version: no longer offered, still readable and citable. */
  async retire(slug: string, number: string): Promise<VersionView> {
    await this.db.transaction().execute(async (trx) => {
      const dataset = await catalogRepository.bySlugForUpdate(trx, slug);
      if (dataset === undefined) {
        throw notFound(slug);
      }
      const row = await catalogRepository.version(trx, dataset.id, number);
      if (row === undefined) {
        throw new AppError('not_found', `${slug} has no version ${number}`);
      }
      const refusal = refuseTransition(row.status, 'retire');
      if (refusal !== null) {
        throw new AppError('conflict', refusal);
      }
      await catalogRepository.updateVersion(trx, row.id, {
        status: 'retired',
        retired_at: new Date(),
      });
      await this.audit.record(trx, {
        action: 'catalog.retire',
        target: `dataset:${slug}`,
        details: { version: number },
      });
    });
    return this.version(slug, number, true);
  }

  private async previewOf(
    executor: Kysely<Database> | Transaction<Database>,
    dataset: DatasetRow,
    draft: VersionRow,
  ): Promise<PublicationPreview> {
    const previousRow = await catalogRepository.latestPublished(executor, dataset.id);
    const previous =
      previousRow?.number === null || previousRow?.number === undefined
        ? null
        : parseVersion(previousRow.number);
    const rows = await this.readRows(executor, draft, previousRow);
    const diff = diffSnapshots(previousRow?.snapshot ?? null, draft.snapshot, rows.rowKeys);
    const computed = nextVersion(previous, diff);
    const others = (await catalogRepository.latestSnapshots(executor)).filter(
      (entry) => entry.slug !== dataset.slug,
    );
    const check = checkPublication({
      slug: dataset.slug,
      snapshot: draft.snapshot,
      dictionary: draft.dictionary,
      naming: lintNaming([
        ...others.map((entry) => ({ slug: entry.slug, tables: entry.snapshot.tables })),
        { slug: dataset.slug, tables: draft.snapshot.tables },
      ]),
      keys: rows.keyProblems,
    });
    const problems: PublicationProblem[] = [
      ...(await this.ingestProblems(executor, draft)),
      ...(draft.snapshot.tables.length === 0
        ? [
            {
              source: 'dictionary' as const,
              severity: 'blocking' as const,
              code: 'no-tables',
              table: '',
              message: 'a version holds at least one table; add the tables first',
            },
            ...check.problems,
          ]
        : check.problems),
    ];
    return {
      computed,
      version: formatVersion(computed.version),
      previous: previous === null ? null : formatVersion(previous),
      level: computed.level,
      reasons: computed.reasons,
      changeLog: changeLog(diff),
      problems,
      publishable: problems.every((p) => p.severity !== 'blocking'),
    };
  }

  /**
   * What the last ingest into the draft leaves to do: one that did not finish (interrupted by a
   * crash, or failed part-way) blocks, since its tables may not all be the delivery's and their
   * PHI scan was never recorded; every PHI finding without a curator's decision blocks, and so
   * does every held file without one (released or excluded), and a run from before held files
   * were reviewable (migration 0020) that held any; excluded files are said (they are not in the
   * version).
   */
  private async ingestProblems(
    executor: Kysely<Database> | Transaction<Database>,
    draft: VersionRow,
  ): Promise<PublicationProblem[]> {
    const last = await ingestRepository.latest(executor, draft.id);
    if (last !== undefined && last.status !== 'done') {
      return [
        {
          source: 'phi',
          severity: 'blocking',
          code: 'ingest-unfinished',
          table: '',
          message: `the last ingest into this draft (${last.id}) ${last.status === 'running' ? 'is still running' : 'did not finish'}; ingest the delivery again (it redoes everything) before publishing`,
        },
      ];
    }
    const run = await ingestRepository.latestDone(executor, draft.id);
    if (run === undefined) {
      return [];
    }
    const problems: PublicationProblem[] = phiBlocks(run.phi_findings, run.phi_decisions).open.map(
      (finding) => ({
        source: 'phi',
        severity: 'blocking',
        code: `phi-${finding.kind}`,
        table: finding.table,
        column: finding.column,
        message: `${finding.cells} ${finding.cells === 1 ? 'cell looks' : 'cells look'} like ${finding.kind} (${finding.reason}); drop the column or confirm it is not PHI`,
      }),
    );
    const held = await heldFileRepository.ofRun(executor, run.id);
    if (held.length === 0 && run.held.length > 0) {
      // A run made before held files were kept for review (migration 0020) listed them, kept no
      // bytes and recorded no decision: nothing says they were reviewed, and nothing can be.
      problems.push({
        source: 'phi',
        severity: 'blocking',
        code: 'held-files-unreviewable',
        table: '',
        message: `the last ingest into this draft (${run.id}) held back ${run.held.length} ${run.held.length === 1 ? 'file' : 'files'} before held files could be reviewed; ingest the delivery again to review them`,
      });
    }
    for (const file of held.filter((h) => h.decision === null)) {
      problems.push({
        source: 'phi',
        severity: 'blocking',
        code: 'held-file-undecided',
        table: file.table_name,
        column: file.column_name,
        message: heldFileAsks(file),
      });
    }
    const excluded = held.filter((h) => h.decision === 'exclude');
    if (excluded.length > 0) {
      problems.push({
        source: 'phi',
        severity: 'warning',
        code: 'files-excluded',
        table: '',
        message: `${excluded.length} held ${excluded.length === 1 ? 'file is' : 'files are'} excluded and not in this version; the table cells that named ${excluded.length === 1 ? 'it' : 'them'} are empty`,
      });
    }
    return problems;
  }

  /**
   * Reads the rows of the draft's tables once (and of the previous version's tables that have a
   * primary key on both sides): the primary-key values, so that the diff counts rows added and
   * removed exactly, and the keys' integrity (empty or repeated primary keys, references to rows
   * that do not exist).
   */
  private async readRows(
    executor: Kysely<Database> | Transaction<Database>,
    draft: VersionRow,
    previous: VersionRow | undefined,
  ): Promise<{ rowKeys: SnapshotRowKeys; keyProblems: KeyIntegrityProblem[] }> {
    const check = new KeyIntegrityCheck(draft.snapshot);
    const next = new Map<string, Set<string>>();
    const before = new Map<string, Set<string>>();
    const keyed = (snapshot: Snapshot | undefined, name: string) =>
      snapshot?.tables.find((t) => t.name === name && t.primaryKey.length > 0);
    const draftFiles = new Map(
      (await catalogRepository.files(executor, draft.id)).map((f) => [f.path, f.object_key]),
    );
    for (const table of draft.snapshot.tables) {
      const key = draftFiles.get(table.file);
      if (key === undefined) {
        continue;
      }
      const compare =
        keyed(previous?.snapshot, table.name) !== undefined && table.primaryKey.length > 0;
      const keys = new Set<string>();
      await this.eachRow(key, table.file, (columns, values) => {
        const row = Object.fromEntries(columns.map((name, i) => [name, values[i] ?? null]));
        check.addRow(table.name, row);
        if (compare) {
          keys.add(rowKey(table.primaryKey.map((c) => row[c] ?? null)));
        }
      });
      if (compare) {
        next.set(table.name, keys);
      }
    }
    if (previous !== undefined) {
      const files = new Map(
        (await catalogRepository.files(executor, previous.id)).map((f) => [f.path, f.object_key]),
      );
      for (const table of previous.snapshot.tables) {
        const key = files.get(table.file);
        if (key === undefined || !next.has(table.name) || table.primaryKey.length === 0) {
          continue;
        }
        const keys = new Set<string>();
        await this.eachRow(key, table.file, (columns, values) => {
          const row = Object.fromEntries(columns.map((name, i) => [name, values[i] ?? null]));
          keys.add(rowKey(table.primaryKey.map((c) => row[c] ?? null)));
        });
        before.set(table.name, keys);
      }
    }
    // Only tables whose keys are known on both sides compare by keys.
    for (const name of [...next.keys()]) {
      if (!before.has(name)) {
        next.delete(name);
      }
    }
    return { rowKeys: { previous: before, next }, keyProblems: check.problems() };
  }

  private async eachRow(
    objectKey: string,
    name: string,
    visit: (columns: readonly string[], values: readonly (string | null)[]) => void,
  ): Promise<void> {
    const object = await this.objects.get(objectKey);
    if (object === null) {
      throw new Error(`the object ${objectKey} of ${name} is missing from the object store`);
    }
    try {
      const table = await readCsv(object.body, { name });
      for await (const row of table) {
        visit(table.columns, row.values);
      }
    } finally {
      object.body.destroy();
    }
  }

  private async editDraft(
    slug: string,
    action: string,
    apply: (trx: Transaction<Database>, draft: VersionRow) => Promise<Record<string, unknown>>,
  ): Promise<VersionView> {
    await this.db.transaction().execute(async (trx) => {
      const dataset = await catalogRepository.bySlugForUpdate(trx, slug);
      if (dataset === undefined) {
        throw notFound(slug);
      }
      const draft = await this.requireDraft(trx, dataset);
      const details = await apply(trx, draft);
      await this.audit.record(trx, { action, target: `dataset:${slug}`, details });
    });
    return this.version(slug, 'draft', true);
  }

  private async requireDraft(
    executor: Kysely<Database> | Transaction<Database>,
    dataset: DatasetRow,
  ): Promise<VersionRow> {
    const draft = await catalogRepository.draft(executor, dataset.id);
    if (draft === undefined) {
      throw new AppError(
        'conflict',
        `${dataset.slug} has no draft: published versions never change; open a new draft`,
      );
    }
    return draft;
  }

  private async requireCategory(trx: Transaction<Database>, category: string): Promise<void> {
    const categories = await catalogRepository.categories(trx);
    if (!categories.some((c) => c.slug === category)) {
      throw new AppError('validation_failed', `there is no category ${category}`, {
        errors: [{ path: 'body.category', message: `no category ${category}` }],
      });
    }
  }

  private async dataset(slug: string): Promise<DatasetRow> {
    const dataset = await catalogRepository.bySlug(this.db, slug);
    if (dataset === undefined) {
      throw notFound(slug);
    }
    return dataset;
  }

  private async findVersion(
    dataset: DatasetRow,
    ref: VersionRef,
    canCurate: boolean,
  ): Promise<VersionRow> {
    const row =
      ref === 'draft'
        ? canCurate
          ? await catalogRepository.draft(this.db, dataset.id)
          : undefined
        : await catalogRepository.version(this.db, dataset.id, ref);
    if (row === undefined) {
      throw new AppError(
        'not_found',
        `${dataset.slug} has no ${ref === 'draft' ? 'draft' : `version ${ref}`}`,
      );
    }
    return row;
  }
}

const notFound = (slug: string) => new AppError('not_found', `there is no dataset ${slug}`);

const SECTION_HEADINGS: Record<string, string> = {
  problem: 'The problem',
  overview: 'Dataset overview',
  partners: 'Our partners',
  construction: 'Dataset construction',
  contents: 'Contents',
  'whats-next': "What's next",
};
const sectionHeading = (kind: string) => SECTION_HEADINGS[kind] ?? kind;

function keep(primaryKey: string[], table: { columns: { name: string }[] }): string[] {
  return primaryKey.every((c) => table.columns.some((col) => col.name === c)) ? primaryKey : [];
}

function columnsOf(input: Omit<DatasetInput, 'slug'>) {
  return {
    title: input.title,
    problem: input.problem,
    category: input.category,
    partners: json(input.partners),
    authors: json(input.authors),
    citation: json(input.citation),
    access_tier: input.accessTier,
    modalities: input.modalities,
    tags: input.tags,
  };
}

function present(row: DatasetRow): DatasetView {
  return {
    slug: row.slug,
    title: row.title,
    problem: row.problem,
    category: row.category,
    partners: row.partners,
    authors: row.authors,
    citation: row.citation,
    accessTier: row.access_tier,
    modalities: row.modalities,
    tags: row.tags,
    synthetic: row.synthetic,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function card(row: CatalogEntryRow): CatalogCard {
  return {
    ...present(row),
    latestVersion: row.latest_number,
    latestPublishedAt: row.latest_published_at?.toISOString() ?? null,
    hasDraft: row.has_draft,
  };
}

function summary(row: VersionRow): VersionSummary {
  return {
    version: row.number,
    status: row.status,
    changeLevel: row.change_level,
    publishedAt: row.published_at?.toISOString() ?? null,
    retiredAt: row.retired_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * What a held file asks of the curator: a file kept in the quarantine is for a person to look at
 * and release or exclude; one no de-identifier reads kept nothing, so it can only be excluded or
 * delivered again readable (a release is refused, held-files.service.ts).
 */
function heldFileAsks(file: {
  path: string;
  reason: string;
  quarantine_key: string | null;
}): string {
  return file.quarantine_key === null
    ? `${file.path} is held back (${file.reason}): nothing of it could be read, so it cannot be released; exclude it, or ask the partner for a readable file and ingest the delivery again`
    : `${file.path} is held back for review (${file.reason}); release it, saying why what it shows identifies no one, or exclude it`;
}
