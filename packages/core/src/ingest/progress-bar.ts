import { formatBytes } from './summary.js';

/**
 * The progress bar of a command (`lantern ingest`, local or remote): on a terminal one line on
 * stderr, redrawn in place with `\r` at most ten times a second; elsewhere (a pipe, a log file, CI)
 * plain lines, one when a phase begins, when it ends and every ten seconds between. Each says the
 * phase, items done of all, bytes (of all, when known), rate and time left. The stream and the
 * clock are given, so the bar does no I/O of its own and is tested without waiting.
 */

/** One step of a long run, as the command's service reports it. */
export interface ProgressSample {
  phase: string;
  done: number;
  total: number;
  /** Bytes written so far over the whole run. */
  bytes: number;
  /** All the bytes the run will write, when known (an upload's): time left is then by bytes. */
  totalBytes?: number;
}

/** Where the bar is drawn: a terminal's stream (`columns` is its width, when known), or not. */
export interface ProgressStream {
  write(text: string): unknown;
  columns?: number;
  isTTY?: boolean;
}

/** How a bar is drawn: redrawn in place on a terminal, or as plain lines one after another. */
export type ProgressMode = 'terminal' | 'lines';

/** Redraws no more often than this, except when the phase changes. */
export const REDRAW_INTERVAL_MS = 100;
/** Plain lines come no more often than this, except when a phase begins or ends. */
export const LINE_INTERVAL_MS = 10_000;

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
  /**
   * In seconds: the bytes left at the run's rate when all its bytes are known, else the phase's
   * items left at the phase's pace so far.
   */
  secondsLeft: number | null;
}

/**
 * The rate and time left of `sample`, `elapsedMs` after the run began and `phaseElapsedMs` after
 * its phase did: time left is unknown until one item of the phase (or a byte) is done, and once
 * all are.
 */
export function estimateProgress(
  sample: ProgressSample,
  elapsedMs: number,
  phaseElapsedMs: number,
): ProgressEstimate {
  const bytesPerSecond = elapsedMs > 0 ? Math.round((sample.bytes * 1000) / elapsedMs) : null;
  const { totalBytes } = sample;
  let secondsLeft: number | null = null;
  if (totalBytes !== undefined) {
    if (sample.bytes > 0 && sample.bytes < totalBytes && elapsedMs > 0) {
      secondsLeft = ((totalBytes - sample.bytes) * elapsedMs) / sample.bytes / 1000;
    }
  } else if (sample.done > 0 && sample.done < sample.total && phaseElapsedMs > 0) {
    secondsLeft = ((sample.total - sample.done) * phaseElapsedMs) / sample.done / 1000;
  }
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
  parts.push(
    sample.totalBytes === undefined
      ? formatBytes(sample.bytes)
      : `${formatBytes(sample.bytes)} of ${formatBytes(sample.totalBytes)}`,
  );
  const { bytesPerSecond, secondsLeft } = estimateProgress(sample, elapsedMs, phaseElapsedMs);
  if (bytesPerSecond !== null) {
    parts.push(`${formatBytes(bytesPerSecond)}/s`);
  }
  if (secondsLeft !== null) {
    parts.push(`${formatDuration(secondsLeft)} left`);
  }
  return parts.join('  ');
}

/**
 * A bar on `stream`, drawn as samples arrive, in place on a terminal or as plain lines; `clear`
 * ends it before the report is printed.
 */
export class ProgressBar {
  private readonly started: number;
  private phaseStarted: number;
  private phase: string | null = null;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;
  /** Plain lines: the last sample not written yet, and when it came. */
  private unwritten: { sample: ProgressSample; at: number } | null = null;

  constructor(
    private readonly stream: ProgressStream,
    /** Milliseconds from any origin (`performance.now`). */
    private readonly clock: () => number,
    private readonly mode: ProgressMode = 'terminal',
  ) {
    this.started = clock();
    this.phaseStarted = this.started;
  }

  /**
   * Takes a sample; draws it when the phase changed or the last drawing is old enough. As plain
   * lines, a phase's last sample is written before the next phase's first.
   */
  update(sample: ProgressSample): void {
    const now = this.clock();
    const newPhase = sample.phase !== this.phase;
    if (newPhase) {
      this.writeUnwritten();
      this.phase = sample.phase;
      this.phaseStarted = now;
    }
    const interval = this.mode === 'terminal' ? REDRAW_INTERVAL_MS : LINE_INTERVAL_MS;
    if (!newPhase && now - this.lastDraw < interval) {
      this.unwritten = { sample, at: now };
      return;
    }
    this.draw(sample, now);
  }

  /**
   * Ends the bar: on a terminal its line is erased, if it was drawn; as plain lines the last
   * sample is written, if it was not.
   */
  clear(): void {
    if (this.mode === 'lines') {
      this.writeUnwritten();
    } else if (this.drawn) {
      this.stream.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  private draw(sample: ProgressSample, now: number): void {
    this.lastDraw = now;
    this.unwritten = null;
    const line = formatProgress(sample, now - this.started, now - this.phaseStarted);
    if (this.mode === 'lines') {
      this.stream.write(`${line}\n`);
      return;
    }
    const width = this.stream.columns;
    const fitted =
      width !== undefined && width > 1 && line.length >= width ? line.slice(0, width - 1) : line;
    this.stream.write(`\r${fitted}\x1b[K`);
    this.drawn = true;
  }

  private writeUnwritten(): void {
    if (this.mode === 'lines' && this.unwritten !== null) {
      this.draw(this.unwritten.sample, this.unwritten.at);
    }
  }
}

/**
 * The bar of a command's progress on `stream` (its stderr): in place on a terminal, plain lines
 * on anything else.
 */
export function progressOn(stream: ProgressStream, clock: () => number): ProgressBar {
  return new ProgressBar(stream, clock, stream.isTTY === true ? 'terminal' : 'lines');
}
