import { sql, type Kysely } from 'kysely';

/**
 * Held NumPy files (issue 6): an `.npz` whose arrays were renamed because their names were not
 * ECG array names keeps its de-identified bytes in the quarantine, as a held DICOM image does,
 * for a curator to release or exclude; its held file's format is `numpy`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ingest_held_file drop constraint ingest_held_file_format`.execute(db);
  await sql`alter table ingest_held_file add constraint ingest_held_file_format
    check (format in ('dicom', 'numpy', 'unreadable'))`.execute(db);
}
