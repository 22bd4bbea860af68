import { expect } from 'vitest';

/** One plain line of progress, as written off a terminal: phase, bar, items, bytes… */
const PROGRESS_LINE = /^[a-z]+ +\[[#-]{24}\] {2}\d+\/\d+ {2}\d/u;

/**
 * The lines a command wrote to stderr off a terminal before its first that is not progress,
 * checked to be plain lines (nothing redrawn in place).
 */
export function progressLines(stderr: string): string[] {
  expect(stderr).not.toContain('\r');
  expect(stderr).not.toContain('\x1b');
  const lines = stderr.split('\n');
  const end = lines.findIndex((line) => !PROGRESS_LINE.test(line));
  return lines.slice(0, end === -1 ? lines.length : end);
}

/** Checks that a command wrote nothing to stderr but plain lines of progress; returns them. */
export function onlyProgress(stderr: string): string[] {
  const lines = progressLines(stderr);
  expect(lines.join('\n')).toBe(stderr.trimEnd());
  return lines;
}
