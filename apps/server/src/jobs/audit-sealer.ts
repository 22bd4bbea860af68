import type { FastifyBaseLogger as Logger } from 'fastify';
import type { AuditService } from '../services/audit/audit.service.js';
import { PeriodicWorker } from './periodic-worker.js';

/**
 * Seals queued audit events every `intervalMs`. One runs per server process; across replicas an
 * advisory lock lets one seal at a time.
 */
export class AuditSealer extends PeriodicWorker {
  constructor(audit: AuditService, logger: Logger, intervalMs: number) {
    super('audit sealing', () => audit.sealAll(), logger, intervalMs);
  }
}
