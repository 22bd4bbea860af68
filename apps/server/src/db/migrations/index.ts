import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-audit.js';
import * as m0002 from './0002-identity.js';
import * as m0003 from './0003-auth-throttle.js';
import * as m0004 from './0004-api-tokens.js';
import * as m0005 from './0005-email-outbox.js';
import * as m0006 from './0006-email-verification.js';
import * as m0007 from './0007-admission.js';
import * as m0008 from './0008-terms.js';
import * as m0009 from './0009-second-factor.js';
import * as m0010 from './0010-suspension.js';
import * as m0011 from './0011-admission-certificate-files.js';
import * as m0012 from './0012-catalog.js';
import * as m0013 from './0013-dataset-reports.js';
import * as m0014 from './0014-dataset-modalities.js';
import * as m0015 from './0015-ingest.js';
import * as m0016 from './0016-ingest-heartbeat.js';
import * as m0017 from './0017-projects.js';
import * as m0020 from './0020-held-files.js';
import * as m0023 from './0023-instances.js';
import * as m0026 from './0026-partner-delegates.js';
import * as m0029 from './0029-instance-idle-warning.js';
import * as m0032 from './0032-ingest-uploads.js';
import * as m0035 from './0035-instance-start-lease.js';
import * as m0036 from './0036-releases.js';

/**
 * Every migration, in order. One schema and one list for both dialects (PGlite is PostgreSQL).
 * Listed statically rather than read from a folder, so the built server needs no file lookup.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001-audit': m0001,
  '0002-identity': m0002,
  '0003-auth-throttle': m0003,
  '0004-api-tokens': m0004,
  '0005-email-outbox': m0005,
  '0006-email-verification': m0006,
  '0007-admission': m0007,
  '0008-terms': m0008,
  '0009-second-factor': m0009,
  '0010-suspension': m0010,
  '0011-admission-certificate-files': m0011,
  '0012-catalog': m0012,
  '0013-dataset-reports': m0013,
  '0014-dataset-modalities': m0014,
  '0015-ingest': m0015,
  '0016-ingest-heartbeat': m0016,
  '0017-projects': m0017,
  '0020-held-files': m0020,
  '0023-instances': m0023,
  '0026-partner-delegates': m0026,
  '0029-instance-idle-warning': m0029,
  '0032-ingest-uploads': m0032,
  '0035-instance-start-lease': m0035,
  '0036-releases': m0036,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};
