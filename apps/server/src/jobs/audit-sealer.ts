import type { FastifyBaseLogger as Logger } from 'fastify';
import type { AuditService } from '../services/audit/audit.service.js';

/**
 * Background loop that seals queued audit events every `intervalMs`, or sooner when kicked.
 * One runs per server process; across replicas an advisory lock lets one seal at a time.
 */
export class AuditSealer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly audit: AuditService,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.intervalMs);
  }

  /** Seals now (or right after the run in progress) and waits for it. */
  async flush(): Promise<void> {
    await this.running;
    await this.runOnce();
  }

  /** Stops the loop, then seals what is left so nothing waits in the queue across a restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.running;
    await this.runOnce();
  }

  private schedule(delay: number): void {
    if (this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce().finally(() => {
        this.schedule(this.intervalMs);
      });
    }, delay);
    this.timer.unref();
  }

  private runOnce(): Promise<void> {
    const tracked: Promise<void> = this.audit
      .sealAll()
      .then(() => undefined)
      .catch((error: unknown) => {
        this.logger.error(
          { err: error },
          'audit sealing failed; events stay queued and will be retried',
        );
      })
      .finally(() => {
        if (this.running === tracked) {
          this.running = null;
        }
      });
    this.running = tracked;
    return tracked;
  }
}
