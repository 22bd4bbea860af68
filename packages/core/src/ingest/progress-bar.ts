import { formatBytes } from './summary.js';

/**
 * The progress bar of a command on a terminal (`lantern ingest`, local or remote): one line on
 * stderr, redrawn in place with `\r` at most ten times a second, saying the phase, items done of
 * all, bytes, rate and time left. The stream and the clock are given, so the bar does no I/O of
 * its own and is tested without waiting.
 */

/** One step of a long run, as the command's service reports it. */
export interface ProgressSample {
  phase: string;
  done: number;
  total: number;
  /** Bytes written so far over the whole run. */
  bytes: number;
}

/** Where the bar is drawn: a terminal's stream (`columns` is its width, when known). */
export interface ProgressStream {
  write(text: string): unknown;
  columns?: number;
}

/** Redraws no more often than this, except when the phase changes. */
export const REDRAW_INTERVAL_MS = 100;

const BAR_WIDTH = 24;

/** 75 -> `1 min 15 s`; 3725 -> `1 h 2 min`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${s % 60} s`;
  }
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** How fast a run goes and how long it has left; null while it cannot be known yet. */
export interface ProgressEstimate {
  /** Bytes of the whole run per second so far. */
  bytesPerSecond: number | null;
  /** The phase's items left at the phase's pace so far, in seconds. */
  secondsLeft: number | null;
}

/**
 * The rate and time left of `sample`, `elapsedMs` after the run began and `phaseElapsedMs` after
 * its phase did: time left is unknown until one item of the phase is done, and once all are.
 */
export function estimateProgress(
  sample: ProgressSample,
  elapsedMs: number,
  phaseElapsedMs: number,
): ProgressEstimate {
  const bytesPerSecond = elapsedMs > 0 ? Math.round((sample.bytes * 1000) / elapsedMs) : null;
  const secondsLeft =
    sample.done > 0 && sample.done < sample.total && phaseElapsedMs > 0
      ? ((sample.total - sample.done) * phaseElapsedMs) / sample.done / 1000
      : null;
  return { bytesPerSecond, secondsLeft };
}

/**
 * The bar's line for `sample`, `elapsedMs` after the run began and `phaseElapsedMs` after its
 * phase did: time left is the phase's items left at the phase's pace so far (unknown until one
 * item is done).
 */
export function formatProgress(
  sample: ProgressSample,
  elapsedMs: number,
  phaseElapsedMs: number,
): string {
  const fraction = sample.total > 0 ? Math.min(1, sample.done / sample.total) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const parts = [sample.phase.padEnd(9), bar, `${sample.done}/${sample.total}`];
  parts.push(formatBytes(sample.bytes));
  const { bytesPerSecond, secondsLeft } = estimateProgress(sample, elapsedMs, phaseElapsedMs);
  if (bytesPerSecond !== null) {
    parts.push(`${formatBytes(bytesPerSecond)}/s`);
  }
  if (secondsLeft !== null) {
    parts.push(`${formatDuration(secondsLeft)} left`);
  }
  return parts.join('  ');
}

/** A bar on `stream`, redrawn as samples arrive; `clear` removes it before the report is printed. */
export class ProgressBar {
  private readonly started: number;
  private phaseStarted: number;
  private phase: string | null = null;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    /** Milliseconds from any origin (`performance.now`). */
    private readonly clock: () => number,
  ) {
    this.started = clock();
    this.phaseStarted = this.started;
  }

  /** Takes a sample; draws it when the phase changed or the last drawing is old enough. */
  update(sample: ProgressSample): void {
    const now = this.clock();
    const newPhase = sample.phase !== this.phase;
    if (newPhase) {
      this.phase = sample.phase;
      this.phaseStarted = now;
    }
    if (!newPhase && now - this.lastDraw < REDRAW_INTERVAL_MS) {
      return;
    }
    this.lastDraw = now;
    let line = formatProgress(sample, now - this.started, now - this.phaseStarted);
    const width = this.stream.columns;
    if (width !== undefined && width > 1 && line.length >= width) {
      line = line.slice(0, width - 1);
    }
    this.stream.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  /** Erases the bar's line, if it was drawn. */
  clear(): void {
    if (this.drawn) {
      this.stream.write('\r\x1b[K');
      this.drawn = false;
    }
  }
}
