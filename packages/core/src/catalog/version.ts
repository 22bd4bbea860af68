import type { SnapshotDiff } from './snapshot-diff.js';

/**
 * Version numbers that mean something (DESIGN.md, "Rules that hold everywhere"): the number of the
 * next version is computed from its difference with the previous published one, never typed.
 * Numbers are written `1.0`, `2.1`, `2.1.1`: major and minor always, the patch only when it is not
 * zero (as Nightingale's v2.1 and v2.1.1).
 */
export interface DatasetVersion {
  major: number;
  minor: number;
  patch: number;
}

/** The levels of change, from the largest. */
export const CHANGE_LEVELS = ['major', 'minor', 'patch'] as const;
export type ChangeLevel = (typeof CHANGE_LEVELS)[number];

/** The number of a first publication. */
export const FIRST_VERSION: DatasetVersion = Object.freeze({ major: 1, minor: 0, patch: 0 });

const VERSION = /^v?(0|[1-9]\d{0,5})(?:\.(0|[1-9]\d{0,5}))?(?:\.(0|[1-9]\d{0,5}))?$/u;

/**
 * The version a curator or a path wrote: `1.0`, `2.1`, `2.1.1`, also `v2` or `2` (minor zero) and
 * `2.1.0` (the same as `2.1`); null for anything else (leading zeros, `0.x`, signs, spaces inside,
 * more than three parts, parts over six digits).
 */
export function parseVersion(text: string): DatasetVersion | null {
  const match = VERSION.exec(text.trim());
  if (match === null) {
    return null;
  }
  const version = {
    major: Number(match[1]),
    minor: Number(match[2] ?? '0'),
    patch: Number(match[3] ?? '0'),
  };
  return version.major === 0 ? null : version;
}

/** `1.0`, `2.1`, `2.1.1`: the patch part only when it is not zero. */
export function formatVersion(version: DatasetVersion): string {
  const base = `${version.major}.${version.minor}`;
  return version.patch === 0 ? base : `${base}.${version.patch}`;
}

/** Negative when `a` comes before `b`, zero when they are the same version, positive after. */
export function compareVersions(a: DatasetVersion, b: DatasetVersion): number {
  return Math.sign(a.major - b.major || a.minor - b.minor || a.patch - b.patch);
}

/** Why a diff is the change it is, in words a curator reads beside the refusal. */
export interface ChangeClassification {
  level: ChangeLevel;
  reasons: string[];
}

const names = (items: readonly { name: string }[]) => items.map((item) => item.name).join(', ');

/**
 * How large a change is:
 * - major: the set or types of columns changed, which breaks code written for the previous
 *   version: tables added or removed, columns added, removed, retyped or made nullable (or not),
 *   and also a table's keys or its file path changing (joins and paths in notebooks break alike);
 * - minor: the same structure with more rows (a row with a new key, or a larger count when keys
 *   are not known);
 * - patch: corrections that add neither rows nor columns (rows removed, values fixed, nothing the
 *   tables show at all).
 */
export function classifyChange(diff: SnapshotDiff): ChangeClassification {
  const major: string[] = [];
  if (diff.tablesAdded.length > 0) {
    major.push(`tables added: ${names(diff.tablesAdded)}`);
  }
  if (diff.tablesRemoved.length > 0) {
    major.push(`tables removed: ${names(diff.tablesRemoved)}`);
  }
  for (const table of diff.tables) {
    if (table.columnsAdded.length > 0) {
      major.push(`columns added to ${table.name}: ${names(table.columnsAdded)}`);
    }
    if (table.columnsRemoved.length > 0) {
      major.push(`columns removed from ${table.name}: ${names(table.columnsRemoved)}`);
    }
    if (table.columnsChanged.length > 0) {
      major.push(`columns of ${table.name} changed type: ${names(table.columnsChanged)}`);
    }
    if (table.primaryKey !== null) {
      major.push(`the primary key of ${table.name} changed`);
    }
    if (table.foreignKeysAdded.length > 0 || table.foreignKeysRemoved.length > 0) {
      major.push(`the foreign keys of ${table.name} changed`);
    }
    if (table.file !== null) {
      major.push(`${table.name} moved from ${table.file.from} to ${table.file.to}`);
    }
  }
  if (major.length > 0) {
    return { level: 'major', reasons: major };
  }
  const minor = diff.tables
    .filter((table) => table.rows.added > 0)
    .map((table) => `rows added to ${table.name}`);
  if (minor.length > 0) {
    return { level: 'minor', reasons: minor };
  }
  const patch = diff.tables
    .filter((table) => table.rows.removed > 0)
    .map((table) => `rows removed from ${table.name}`);
  return {
    level: 'patch',
    reasons: patch.length > 0 ? patch : ['no new rows or columns: a correction'],
  };
}

/** The computed number of a version, with the previous one and why. */
export interface NextVersion extends ChangeClassification {
  version: DatasetVersion;
  previous: DatasetVersion | null;
}

/**
 * The number of the version that `diff` leads to from `previous` (the latest published version,
 * or null before the first publication, which is always 1.0): major 1.1 -> 2.0, minor
 * 1.0 -> 1.1, patch 2.1 -> 2.1.1.
 */
export function nextVersion(previous: DatasetVersion | null, diff: SnapshotDiff): NextVersion {
  if (previous === null) {
    return {
      version: FIRST_VERSION,
      previous: null,
      level: 'major',
      reasons: ['first publication'],
    };
  }
  const { level, reasons } = classifyChange(diff);
  switch (level) {
    case 'major':
      return {
        version: { major: previous.major + 1, minor: 0, patch: 0 },
        previous,
        level,
        reasons,
      };
    case 'minor':
      return {
        version: { major: previous.major, minor: previous.minor + 1, patch: 0 },
        previous,
        level,
        reasons,
      };
    case 'patch':
      return {
        version: { major: previous.major, minor: previous.minor, patch: previous.patch + 1 },
        previous,
        level,
        reasons,
      };
    default:
      return level satisfies never;
  }
}

/** A curator's number, accepted or refused with a reason to show them. */
export type RequestedVersionCheck =
  | { ok: true; version: DatasetVersion }
  | { ok: false; code: 'malformed_version' | 'version_mismatch'; message: string };

/**
 * Accepts `requested` (what a curator typed, or nothing) only when it is the computed number, and
 * otherwise says which number the changes make and why; the number is never chosen by hand.
 */
export function checkRequestedVersion(
  computed: NextVersion,
  requested: string | null | undefined,
): RequestedVersionCheck {
  if (requested === null || requested === undefined || requested.trim() === '') {
    return { ok: true, version: computed.version };
  }
  const version = parseVersion(requested);
  const expected = formatVersion(computed.version);
  if (version === null) {
    return {
      ok: false,
      code: 'malformed_version',
      message: `"${requested}" is not a version number (written like 1.0, 2.1 or 2.1.1); this version will be ${expected}`,
    };
  }
  if (compareVersions(version, computed.version) !== 0) {
    const after =
      computed.previous === null
        ? 'as the first publication'
        : `after ${formatVersion(computed.previous)}`;
    return {
      ok: false,
      code: 'version_mismatch',
      message: `this version is ${expected}, not ${formatVersion(version)}: ${after} it is a ${computed.level} change (${computed.reasons.join('; ')})`,
    };
  }
  return { ok: true, version: computed.version };
}
