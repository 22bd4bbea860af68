import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * SQL of the rows that refer to objects in the object store, for the unreferenced-object sweep.
 * Every column that holds an object key is read here: a column left out would have its objects
 * swept. Today: the files of dataset versions (every status), researchers' certificate files, and
 * the files of release requests (every state: the record of what was asked to leave stays).
 */
export const objectReferenceRepository = {
  /** Every object key some row refers to. */
  async keys(executor: Executor): Promise<Set<string>> {
    const files = await executor
      .selectFrom('dataset_version_file')
      .select('object_key')
      .distinct()
      .execute();
    const certificates = await executor
      .selectFrom('users')
      .select('training_file_key')
      .where('training_file_key', 'is not', null)
      .execute();
    const released = await executor
      .selectFrom('release_file')
      .select('object_key')
      .distinct()
      .execute();
    const keys = new Set([...files, ...released].map((row) => row.object_key));
    for (const row of certificates) {
      if (row.training_file_key !== null) {
        keys.add(row.training_file_key);
      }
    }
    return keys;
  },
};
