import type { FastifyBaseLogger as Logger } from 'fastify';

/**
 * A background task run every `intervalMs` (and on demand), one run at a time in this process. The
 * task itself must be safe to run from several replicas at once (advisory locks, SKIP LOCKED).
 */
export class PeriodicWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    /** What the logs call it. */
    private readonly name: string,
    private readonly task: () => Promise<unknown>,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    /** Whether stop() runs the task once more (a queue's last items; not a sweep). */
    private readonly runOnStop = true,
  ) {}

  /** Runs every `intervalMs`, the first time after `firstDelayMs` (default: one interval). */
  start(firstDelayMs = this.intervalMs): void {
    this.stopped = false;
    this.schedule(firstDelayMs);
  }

  /** Runs now (or right after the run in progress) and waits for it. */
  async flush(): Promise<void> {
    await this.running;
    await this.runOnce();
  }

  /**
   * Stops the loop and waits for a run under way; then runs once more (unless told not to at
   * construction) so nothing waits in a queue across a restart.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.running;
    if (this.runOnStop) {
      await this.runOnce();
    }
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
    const tracked: Promise<void> = this.task()
      .then(() => undefined)
      .catch((error: unknown) => {
        this.logger.error({ err: error }, `${this.name} failed; it is retried on the next run`);
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
