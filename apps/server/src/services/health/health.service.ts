import type { Kysely } from 'kysely';
import type { ComputeStatus } from '../../compute/compute-backend.js';
import { pingDatabase, type DatabaseDialect } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import type { ComponentCheck, ObjectStore } from '../../storage/object-store.js';
import type { AuditService } from '../audit/audit.service.js';

export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface HealthReport {
  status: HealthStatus;
  version: string;
  uptimeSeconds: number;
  checks: {
    database: ComponentCheck & { dialect: DatabaseDialect; latencyMs: number | null };
    objectStore: ComponentCheck & { kind: string };
    compute: ComponentCheck & { backend: string };
    audit: ComponentCheck & { headSeq: number; pending: number };
  };
}

/** Events older than this still waiting to be sealed mean the sealer is stuck. */
const AUDIT_BACKLOG_LIMIT_MS = 60_000;

/** Reports whether each part of the platform works, and why not. */
export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      dialect: DatabaseDialect;
      objectStore: ObjectStore;
      compute: ComputeStatus;
      audit: AuditService;
      version: string;
    },
  ) {}

  async report(): Promise<HealthReport> {
    const [database, objectStore, compute] = await Promise.all([
      this.checkDatabase(),
      this.deps.objectStore.check(),
      this.deps.compute.check(),
    ]);
    const audit = database.ok
      ? await this.checkAudit()
      : { ok: false, detail: 'database unavailable', headSeq: 0, pending: 0 };
    const status: HealthStatus = !database.ok
      ? 'down'
      : objectStore.ok && compute.ok && audit.ok
        ? 'ok'
        : 'degraded';
    return {
      status,
      version: this.deps.version,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      checks: {
        database,
        objectStore: { ...objectStore, kind: this.deps.objectStore.kind },
        compute: { ...compute, backend: this.deps.compute.kind },
        audit,
      },
    };
  }

  private async checkDatabase(): Promise<HealthReport['checks']['database']> {
    const started = performance.now();
    try {
      await pingDatabase(this.deps.db);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      return {
        ok: true,
        detail: describeDatabase(this.deps.dialect),
        dialect: this.deps.dialect,
        latencyMs,
      };
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreachable';
      return {
        ok: false,
        detail: `${describeDatabase(this.deps.dialect)} is not answering (${code})`,
        dialect: this.deps.dialect,
        latencyMs: null,
      };
    }
  }

  private async checkAudit(): Promise<HealthReport['checks']['audit']> {
    const { head, pending, oldestPending } = await this.deps.audit.status();
    const headSeq = head?.seq ?? 0;
    const lagMs = oldestPending === null ? 0 : Date.now() - oldestPending.getTime();
    if (lagMs > AUDIT_BACKLOG_LIMIT_MS) {
      return {
        ok: false,
        detail: `${pending} events have waited ${Math.round(lagMs / 1000)} s to be sealed; see the server log`,
        headSeq,
        pending,
      };
    }
    return {
      ok: true,
      detail: `hash chain at seq ${headSeq}, ${pending} queued`,
      headSeq,
      pending,
    };
  }
}

/** Health is public: it says what kind of database answers, never where it lives. */
function describeDatabase(dialect: DatabaseDialect): string {
  return dialect === 'pglite' ? 'PGlite, embedded in the data directory' : 'PostgreSQL server';
}
