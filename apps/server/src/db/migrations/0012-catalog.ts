import { sql, type Kysely } from 'kysely';

/**
 * The catalog: categories, datasets, their versions (draft -> published -> retired) with the
 * tables, data dictionary, documentation and change log of each, and the files each version holds
 * (paths inside the version folder, mapped to content-addressed objects). A published version
 * never changes: triggers refuse any change but retiring it, and any change to its files.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('dataset_category')
    .addColumn('slug', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`insert into dataset_category (slug, title, created_by) values
    ('ecg-waveforms', 'ECG waveforms', 'system:lantern'),
    ('microscopy-images', 'Microscopy images', 'system:lantern'),
    ('xray-images', 'X-ray images', 'system:lantern'),
    ('multiple-diagnostics', 'Multiple diagnostics', 'system:lantern')`.execute(db);

  await db.schema
    .createTable('dataset')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('problem', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull().references('dataset_category.slug'))
    .addColumn('partners', 'jsonb', (c) => c.notNull())
    .addColumn('authors', 'jsonb', (c) => c.notNull())
    .addColumn('citation', 'jsonb', (c) => c.notNull())
    .addColumn('access_tier', 'text', (c) => c.notNull())
    .addColumn('tags', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('synthetic', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('dataset_access_tier', sql`access_tier in ('open', 'approval')`)
    .execute();

  await db.schema
    .createTable('dataset_version')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('dataset.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('number', 'text')
    .addColumn('major', 'integer')
    .addColumn('minor', 'integer')
    .addColumn('patch', 'integer')
    .addColumn('snapshot', 'jsonb', (c) => c.notNull())
    .addColumn('dictionary', 'jsonb', (c) => c.notNull())
    .addColumn('documentation', 'jsonb', (c) => c.notNull())
    .addColumn('notes', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('change_log', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('change_level', 'text')
    .addColumn('change_reasons', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('published_at', 'timestamptz')
    .addColumn('published_by', 'text')
    .addColumn('retired_at', 'timestamptz')
    .addCheckConstraint('dataset_version_status', sql`status in ('draft', 'published', 'retired')`)
    .addCheckConstraint('dataset_version_number', sql`(status = 'draft') = (number is null)`)
    .addUniqueConstraint('dataset_version_unique_number', ['dataset_id', 'number'])
    .execute();
  // One draft per dataset at a time.
  await sql`create unique index dataset_version_one_draft on dataset_version (dataset_id)
    where status = 'draft'`.execute(db);

  await db.schema
    .createTable('dataset_version_file')
    .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_version.id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dataset_version_file_pk', ['version_id', 'path'])
    .execute();

  await sql`create function dataset_version_guard() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        if old.status <> 'draft' then
          raise exception 'published versions never change; make a new draft';
        end if;
        return old;
      end if;
      if old.status = 'draft' then
        return new;
      end if;
      if old.status = 'published' and new.status = 'retired'
        and new.number = old.number and new.snapshot = old.snapshot
        and new.dictionary = old.dictionary and new.documentation = old.documentation
        and new.notes = old.notes and new.change_log = old.change_log then
        return new;
      end if;
      raise exception 'published versions never change; make a new draft';
    end $$`.execute(db);
  await sql`create trigger dataset_version_guard before update or delete on dataset_version
    for each row execute function dataset_version_guard()`.execute(db);

  await sql`create function dataset_version_file_guard() returns trigger language plpgsql as $$
    declare
      version_status text;
    begin
      select status into version_status from dataset_version
        where id = coalesce(new.version_id, old.version_id);
      if version_status <> 'draft' then
        raise exception 'the files of a published version never change; make a new draft';
      end if;
      return coalesce(new, old);
    end $$`.execute(db);
  await sql`create trigger dataset_version_file_guard
    before insert or update or delete on dataset_version_file
    for each row execute function dataset_version_file_guard()`.execute(db);
}
