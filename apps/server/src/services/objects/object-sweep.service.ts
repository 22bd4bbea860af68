/**
 * The unreferenced-object sweep (issue 6, "never lose, never leak"). Bytes go into the object store
 * before the row that refers to them is written (a put is streamed, its key known only at the
 * end), so a process killed in between leaves an object nothing refers to; so do a draft's files
 * replaced by a new delivery, a table rewritten without a column, a certificate replaced. The sweep
 * deletes the objects no row refers to, and what killed puts left unfinished.
 *
 * What it never deletes: an object stored within the grace period (a put renews an object's time,
 * so whatever a request or job has just put, new bytes or a repeat, is safe until its row is
 * written); anything while an ingest is running, or if one started while the sweep was listing
 * (an ingest stores every file before it writes their rows, for longer than any grace).
 * Run at start and periodically (context.ts); several replicas sweeping at once is harmless,
 * each deletion being of an object no row refers to.
 *
 * The same sweep runs over ingest's quarantine (area `quarantine`), where the rows that refer to
 * objects are the held files of each draft's last finished ingest: held files of a crashed run,
 * of a run a new delivery replaced, or of a version since published leave the quarantine.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { ingestRepository } from '../../repositories/ingest/ingest.repository.js';
import { heldFileRepository } from '../../repositories/ingest/held-file.repository.js';
import { objectReferenceRepository } from '../../repositories/objects/object-reference.repository.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { AuditService } from '../audit/audit.service.js';

/** What one sweep found and did; counts only, never keys. */
export interface ObjectSweepReport {
  /** Why nothing was deleted this time, if so. */
  skipped: 'ingest-running' | null;
  /** Complete objects listed. */
  objects: number;
  /** Objects older than the grace period kept because a row refers to them. */
  referenced: number;
  /** Unreferenced objects kept because they were stored within the grace period. */
  recent: number;
  /** Unreferenced objects deleted, and their bytes. */
  deleted: number;
  deletedBytes: number;
  /** Temporary files and staging uploads of unfinished puts removed. */
  unfinished: number;
}

export class ObjectSweepService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly objects: ObjectStore,
    private readonly options: { graceMs: number; area?: 'objects' | 'quarantine' },
  ) {}

  /** Sweeps once; audited (as counts) when it removed anything. */
  async sweep(): Promise<ObjectSweepReport> {
    const started = new Date();
    const report: ObjectSweepReport = {
      skipped: null,
      objects: 0,
      referenced: 0,
      recent: 0,
      deleted: 0,
      deletedBytes: 0,
      unfinished: 0,
    };
    if (await ingestRepository.busySince(this.db, started)) {
      return { ...report, skipped: 'ingest-running' };
    }
    const cutoff = new Date(started.getTime() - this.options.graceMs);
    const old: { key: string; size: number }[] = [];
    for await (const object of this.objects.list()) {
      report.objects += 1;
      if (object.storedAt <= cutoff) {
        old.push({ key: object.key, size: object.size });
      } else {
        report.recent += 1;
      }
    }
    // Read after listing: a row written before an old object was listed is seen here.
    const referenced =
      this.options.area === 'quarantine'
        ? await heldFileRepository.quarantineKeys(this.db)
        : await objectReferenceRepository.keys(this.db);
    const unreferenced = old.filter((object) => !referenced.has(object.key));
    report.referenced = old.length - unreferenced.length;
    // An ingest that began while listing may be about to refer to an old object again.
    if (await ingestRepository.busySince(this.db, started)) {
      return { ...report, skipped: 'ingest-running' };
    }
    for (const object of unreferenced) {
      await this.objects.delete(object.key);
      report.deleted += 1;
      report.deletedBytes += object.size;
    }
    report.unfinished = await this.objects.sweepIncomplete(cutoff);
    if (report.deleted > 0 || report.unfinished > 0) {
      await this.audit.recordAlone({
        action: 'objects.sweep',
        details: {
          ...(this.options.area === 'quarantine' ? { area: 'quarantine' } : {}),
          objects: report.objects,
          referenced: report.referenced,
          recent: report.recent,
          deleted: report.deleted,
          deletedBytes: report.deletedBytes,
          unfinished: report.unfinished,
        },
      });
    }
    return report;
  }
}
