import { describe, expect, it } from 'vitest';
import {
  estimateProgress,
  formatDuration,
  formatProgress,
  LINE_INTERVAL_MS,
  ProgressBar,
  progressOn,
  REDRAW_INTERVAL_MS,
} from './progress-bar.js';

/** A terminal's stream that keeps what was written, and a clock the test moves. */
function terminal(columns?: number) {
  const writes: string[] = [];
  let now = 1_000;
  return {
    stream: {
      write: (text: string) => writes.push(text),
      ...(columns === undefined ? {} : { columns }),
    },
    writes,
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('progress bar', () => {
  it('says durations as people read them', () => {
    expect(formatDuration(0.4)).toBe('0 s');
    expect(formatDuration(59)).toBe('59 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(3725)).toBe('1 h 2 min');
  });

  it('shows the phase, items, bytes, rate and time left at the phase pace', () => {
    // 10 of 40 files in 5 s of the phase: 30 left take 15 s; 20 MB in 10 s is 2 MB/s.
    expect(
      formatProgress({ phase: 'files', done: 10, total: 40, bytes: 20_000_000 }, 10_000, 5_000),
    ).toBe('files      [######------------------]  10/40  20 MB  2.0 MB/s  15 s left');
    // Nothing done yet: no time left to say; nothing elapsed: no rate.
    expect(formatProgress({ phase: 'checking', done: 0, total: 1, bytes: 0 }, 0, 0)).toBe(
      'checking   [------------------------]  0/1  0 B',
    );
    // Done: a full bar and no time left.
    expect(formatProgress({ phase: 'done', done: 1, total: 1, bytes: 0 }, 2_000, 1)).toBe(
      'done       [########################]  1/1  0 B  0 B/s',
    );
  });

  it('estimates the rate over the run and the time left at the phase pace, null until known', () => {
    // 3 of 12 files in 6 s of the phase: 9 left take 18 s; 4 MB in 8 s is 500 kB/s.
    expect(
      estimateProgress({ phase: 'files', done: 3, total: 12, bytes: 4_000_000 }, 8_000, 6_000),
    ).toEqual({ bytesPerSecond: 500_000, secondsLeft: 18 });
    expect(estimateProgress({ phase: 'files', done: 0, total: 12, bytes: 0 }, 0, 0)).toEqual({
      bytesPerSecond: null,
      secondsLeft: null,
    });
    // All done: nothing left to estimate.
    expect(
      estimateProgress({ phase: 'files', done: 12, total: 12, bytes: 10 }, 1_000, 1_000),
    ).toEqual({ bytesPerSecond: 10, secondsLeft: null });
  });

  it('redraws in place at most ten times a second, at once when the phase changes, and clears', () => {
    const t = terminal();
    const bar = new ProgressBar(t.stream, t.clock);
    bar.update({ phase: 'tables', done: 0, total: 3, bytes: 0 });
    t.advance(REDRAW_INTERVAL_MS / 2);
    bar.update({ phase: 'tables', done: 1, total: 3, bytes: 0 });
    expect(t.writes).toHaveLength(1);
    bar.update({ phase: 'files', done: 0, total: 8, bytes: 0 });
    expect(t.writes).toHaveLength(2);
    for (let i = 1; i <= 8; i += 1) {
      t.advance(REDRAW_INTERVAL_MS / 4);
      bar.update({ phase: 'files', done: i, total: 8, bytes: i * 1000 });
    }
    // 8 samples over 2 intervals: 2 redraws.
    expect(t.writes).toHaveLength(4);
    for (const write of t.writes) {
      expect(write.startsWith('\r') && write.endsWith('\x1b[K')).toBe(true);
      expect(write).not.toContain('\n');
    }
    bar.clear();
    expect(t.writes.at(-1)).toBe('\r\x1b[K');
    bar.clear();
    expect(t.writes).toHaveLength(5);
  });

  it('says the bytes of all and the time left by bytes when all the bytes are known', () => {
    // 10 of 40 MB in 5 s: 30 MB left at 2 MB/s take 15 s, whatever the files done.
    const upload = { phase: 'uploading', done: 1, total: 3, bytes: 10_000_000, totalBytes: 40e6 };
    expect(formatProgress(upload, 5_000, 5_000)).toBe(
      'uploading  [########----------------]  1/3  10 MB of 40 MB  2.0 MB/s  15 s left',
    );
    expect(estimateProgress({ ...upload, done: 0 }, 5_000, 5_000).secondsLeft).toBe(15);
    // Nothing sent yet, or all of it: no time left to say.
    expect(estimateProgress({ ...upload, bytes: 0 }, 5_000, 5_000).secondsLeft).toBeNull();
    expect(estimateProgress({ ...upload, bytes: 40e6 }, 5_000, 5_000).secondsLeft).toBeNull();
  });

  it('writes plain lines off a terminal: when a phase begins and ends, every ten seconds between, and the last at its end', () => {
    const t = terminal();
    const bar = progressOn(t.stream, t.clock);
    bar.update({ phase: 'uploading', done: 0, total: 4, bytes: 0, totalBytes: 4_000 });
    for (let i = 1; i <= 3; i += 1) {
      t.advance(LINE_INTERVAL_MS / 2);
      bar.update({ phase: 'uploading', done: i, total: 4, bytes: i * 1000, totalBytes: 4_000 });
    }
    // The first, then one each ten seconds; the last (3/4, five seconds later) not yet.
    expect(t.writes).toEqual([
      expect.stringMatching(/^uploading +\[-{24}\] {2}0\/4 {2}0 B of 4\.0 kB\n$/u),
      'uploading  [############------------]  2/4  2.0 kB of 4.0 kB  200 B/s  10 s left\n',
    ]);
    // A new phase: the last line of the one before, then its first.
    t.advance(1_000);
    bar.update({ phase: 'running', done: 0, total: 2, bytes: 0 });
    expect(t.writes.slice(2)).toEqual([
      'uploading  [##################------]  3/4  3.0 kB of 4.0 kB  200 B/s  5 s left\n',
      expect.stringMatching(/^running +\[-{24}\] {2}0\/2 {2}0 B {2}0 B\/s\n$/u),
    ]);
    t.advance(1_000);
    bar.update({ phase: 'running', done: 2, total: 2, bytes: 0 });
    bar.clear();
    bar.clear();
    expect(t.writes).toHaveLength(5);
    expect(t.writes[4]).toMatch(/^running +\[#{24}\] {2}2\/2 /u);
    // Nothing redrawn in place: no carriage return, no escape sequence.
    expect(t.writes.join('')).not.toContain('\r');
    expect(t.writes.join('')).not.toContain('\x1b');
  });

  it('draws in place on a terminal', () => {
    const t = terminal();
    const bar = progressOn({ ...t.stream, isTTY: true }, t.clock);
    bar.update({ phase: 'files', done: 0, total: 2, bytes: 0 });
    bar.clear();
    expect(t.writes).toEqual([
      `\r${formatProgress({ phase: 'files', done: 0, total: 2, bytes: 0 }, 0, 0)}\x1b[K`,
      '\r\x1b[K',
    ]);
  });

  it('fits the line to the terminal, and clears nothing it never drew', () => {
    const t = terminal(20);
    const bar = new ProgressBar(t.stream, t.clock);
    bar.clear();
    expect(t.writes).toEqual([]);
    bar.update({ phase: 'files', done: 3, total: 9, bytes: 123_456 });
    expect(t.writes[0]).toBe('\rfiles      [#######\x1b[K');
  });
});
