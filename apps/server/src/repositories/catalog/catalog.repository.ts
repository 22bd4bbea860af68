import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type {
  Database,
  DatasetCategoryTable,
  DatasetTable,
  DatasetVersionFileTable,
  DatasetVersionTable,
} from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** Rows of dataset_version_file a statement inserts at most: Postgres binds 65,535 parameters. */
const FILE_ROWS_PER_STATEMENT = 1000;
export type DatasetRow = Selectable<DatasetTable>;
export type VersionRow = Selectable<DatasetVersionTable>;
export type CategoryRow = Selectable<DatasetCategoryTable>;
export type VersionFileRow = Selectable<DatasetVersionFileTable>;

/** A dataset with its newest published version's number, for the catalog's cards. */
export type CatalogEntryRow = DatasetRow & {
  latest_number: string | null;
  latest_published_at: Date | null;
  has_draft: boolean;
};

/** SQL of the catalog: datasets, versions (drafts and published), files, categories. */
export const catalogRepository = {
  async categories(executor: Executor): Promise<CategoryRow[]> {
    return executor.selectFrom('dataset_category').selectAll().orderBy('title').execute();
  },

  async insertCategory(
    executor: Executor,
    row: Insertable<DatasetCategoryTable>,
  ): Promise<boolean> {
    const result = await executor
      .insertInto('dataset_category')
      .values(row)
      .onConflict((oc) => oc.column('slug').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  /**
   * The catalog: datasets with a published version (and, for curators, drafts-only ones), newest
   * first, filtered by category, partner, country, modality and free text over titles, problems, tags and
   * the column names of the newest published version.
   */
  async list(
    executor: Executor,
    filter: {
      includeUnpublished: boolean;
      category?: string | undefined;
      partner?: string | undefined;
      country?: string | undefined;
      modality?: string | undefined;
      search?: string | undefined;
    },
  ): Promise<CatalogEntryRow[]> {
    const latest = executor
      .selectFrom('dataset_version')
      .select(['dataset_id', 'number', 'published_at', 'snapshot'])
      .distinctOn('dataset_id')
      .where('status', '=', 'published')
      .orderBy('dataset_id')
      .orderBy('major', 'desc')
      .orderBy('minor', 'desc')
      .orderBy('patch', 'desc')
      .as('latest');
    let query = executor
      .selectFrom('dataset')
      .leftJoin(latest, 'latest.dataset_id', 'dataset.id')
      .selectAll('dataset')
      .select((eb) => [
        'latest.number as latest_number',
        'latest.published_at as latest_published_at',
        eb
          .exists(
            eb
              .selectFrom('dataset_version as d')
              .select(sql`1`.as('one'))
              .whereRef('d.dataset_id', '=', 'dataset.id')
              .where('d.status', '=', 'draft'),
          )
          .as('has_draft'),
      ])
      .orderBy('dataset.created_at', 'desc')
      .orderBy('dataset.slug');
    if (!filter.includeUnpublished) {
      query = query.where('latest.number', 'is not', null);
    }
    if (filter.category !== undefined) {
      query = query.where('dataset.category', '=', filter.category);
    }
    if (filter.partner !== undefined) {
      query = query.where(
        sql<boolean>`exists (select 1 from jsonb_array_elements(dataset.partners) p
          where lower(p->>'name') = lower(${filter.partner}))`,
      );
    }
    if (filter.country !== undefined) {
      query = query.where(
        sql<boolean>`exists (select 1 from jsonb_array_elements(dataset.partners) p
          where p->>'country' = ${filter.country.toUpperCase()})`,
      );
    }
    if (filter.modality !== undefined) {
      query = query.where(sql<boolean>`${filter.modality} = any(dataset.modalities)`);
    }
    const search = filter.search?.trim().toLowerCase();
    if (search !== undefined && search !== '') {
      const pattern = `%${search.replace(/[\\%_]/gu, (c) => `\\${c}`)}%`;
      query = query.where(
        sql<boolean>`(lower(dataset.title) like ${pattern}
          or lower(dataset.problem) like ${pattern}
          or lower(array_to_string(dataset.tags, ' ')) like ${pattern}
          or exists (select 1 from jsonb_array_elements(latest.snapshot->'tables') t,
                       jsonb_array_elements(t->'columns') c
                     where lower(c->>'name') like ${pattern}))`,
      );
    }
    const rows = await query.execute();
    return rows.map((row) => ({ ...row, has_draft: Boolean(row.has_draft) }));
  },

  async bySlug(executor: Executor, slug: string): Promise<DatasetRow | undefined> {
    return executor.selectFrom('dataset').selectAll().where('slug', '=', slug).executeTakeFirst();
  },

  async bySlugForUpdate(trx: Transaction<Database>, slug: string): Promise<DatasetRow | undefined> {
    return trx
      .selectFrom('dataset')
      .selectAll()
      .where('slug', '=', slug)
      .forUpdate()
      .executeTakeFirst();
  },

  async insertDataset(executor: Executor, row: Insertable<DatasetTable>): Promise<void> {
    await executor.insertInto('dataset').values(row).execute();
  },

  async updateDataset(
    executor: Executor,
    id: string,
    changes: Partial<Insertable<DatasetTable>>,
  ): Promise<void> {
    await executor
      .updateTable('dataset')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  /** Every version of a dataset, newest first (the draft, if any, first of all). */
  async versions(executor: Executor, datasetId: string): Promise<VersionRow[]> {
    return executor
      .selectFrom('dataset_version')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .orderBy(sql`status = 'draft'`, 'desc')
      .orderBy('major', 'desc')
      .orderBy('minor', 'desc')
      .orderBy('patch', 'desc')
      .execute();
  },

  async version(
    executor: Executor,
    datasetId: string,
    number: string,
  ): Promise<VersionRow | undefined> {
    return executor
      .selectFrom('dataset_version')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('number', '=', number)
      .executeTakeFirst();
  },

  async draft(executor: Executor, datasetId: string): Promise<VersionRow | undefined> {
    return executor
      .selectFrom('dataset_version')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('status', '=', 'draft')
      .executeTakeFirst();
  },

  /** The newest published (not retired) version: what a new version is numbered after. */
  async latestPublished(executor: Executor, datasetId: string): Promise<VersionRow | undefined> {
    return executor
      .selectFrom('dataset_version')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('status', 'in', ['published', 'retired'])
      .orderBy('major', 'desc')
      .orderBy('minor', 'desc')
      .orderBy('patch', 'desc')
      .limit(1)
      .executeTakeFirst();
  },

  async insertVersion(executor: Executor, row: Insertable<DatasetVersionTable>): Promise<void> {
    await executor.insertInto('dataset_version').values(row).execute();
  },

  async updateVersion(
    executor: Executor,
    id: string,
    changes: Partial<Insertable<DatasetVersionTable>>,
  ): Promise<void> {
    await executor
      .updateTable('dataset_version')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  async files(executor: Executor, versionId: string): Promise<VersionFileRow[]> {
    return executor
      .selectFrom('dataset_version_file')
      .selectAll()
      .where('version_id', '=', versionId)
      .orderBy('path')
      .execute();
  },

  /** The files of a version at `paths` (its tables' files, say), without listing all the others. */
  async filesAt(
    executor: Executor,
    versionId: string,
    paths: readonly string[],
  ): Promise<VersionFileRow[]> {
    if (paths.length === 0) {
      return [];
    }
    return executor
      .selectFrom('dataset_version_file')
      .selectAll()
      .where('version_id', '=', versionId)
      .where('path', 'in', [...paths])
      .orderBy('path')
      .execute();
  },

  /**
   * Puts files into a version, a file already at its path replaced (of files given at one path,
   * the last, as if each were put in turn), FILE_ROWS_PER_STATEMENT rows a statement: an ingest's
   * thousands of files in a few statements, not one each.
   */
  async putFiles(
    executor: Executor,
    versionId: string,
    files: readonly { path: string; objectKey: string; size: number }[],
  ): Promise<void> {
    // One row a path: a statement cannot update one row twice.
    const rows = [
      ...new Map(
        files.map((file) => [
          file.path,
          { version_id: versionId, path: file.path, object_key: file.objectKey, size: file.size },
        ]),
      ).values(),
    ];
    for (let start = 0; start < rows.length; start += FILE_ROWS_PER_STATEMENT) {
      await executor
        .insertInto('dataset_version_file')
        .values(rows.slice(start, start + FILE_ROWS_PER_STATEMENT))
        .onConflict((oc) =>
          oc.columns(['version_id', 'path']).doUpdateSet((eb) => ({
            object_key: eb.ref('excluded.object_key'),
            size: eb.ref('excluded.size'),
          })),
        )
        .execute();
    }
  },

  async deleteFile(executor: Executor, versionId: string, path: string): Promise<void> {
    await executor
      .deleteFrom('dataset_version_file')
      .where('version_id', '=', versionId)
      .where('path', '=', path)
      .execute();
  },

  /** Deletes every file of a version but those at `keep`, in one statement. */
  async deleteFilesExcept(
    executor: Executor,
    versionId: string,
    keep: readonly string[],
  ): Promise<void> {
    let query = executor.deleteFrom('dataset_version_file').where('version_id', '=', versionId);
    if (keep.length > 0) {
      query = query.where('path', 'not in', [...keep]);
    }
    await query.execute();
  },

  /** Copies the files of one version to another (a new draft starts from the latest version). */
  async copyFiles(executor: Executor, fromId: string, toId: string): Promise<void> {
    await sql`insert into dataset_version_file (version_id, path, object_key, size)
      select ${toId}, path, object_key, size from dataset_version_file
      where version_id = ${fromId}`.execute(executor);
  },

  /** The newest published snapshot of every other dataset, for the naming lint. */
  async latestSnapshots(
    executor: Executor,
  ): Promise<{ slug: string; snapshot: VersionRow['snapshot'] }[]> {
    return executor
      .selectFrom('dataset_version')
      .innerJoin('dataset', 'dataset.id', 'dataset_version.dataset_id')
      .select(['dataset.slug', 'dataset_version.snapshot'])
      .distinctOn('dataset_version.dataset_id')
      .where('dataset_version.status', '=', 'published')
      .orderBy('dataset_version.dataset_id')
      .orderBy('dataset_version.major', 'desc')
      .orderBy('dataset_version.minor', 'desc')
      .orderBy('dataset_version.patch', 'desc')
      .execute();
  },
};
