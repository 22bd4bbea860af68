import type { ReleaseCheckCode, ReleaseState } from '@lantern/core/releases';

/**
 * The words of the airlock's pages (release requests): states, sizes, digests, the automated
 * disclosure checks and how much of a file a preview shows.
 */

/** Where a release request's page is. */
export const releasePath = (id: string) => `/releases/${encodeURIComponent(id)}`;

const filePath = (id: string, fileId: string, what: 'image' | 'content') =>
  `/api/v1/releases/${encodeURIComponent(id)}/files/${encodeURIComponent(fileId)}/${what}`;

/** Where a PNG or JPEG file of a request is shown from (an `<img>`'s source). */
export const releaseFileImagePath = (id: string, fileId: string) => filePath(id, fileId, 'image');

/**
 * Where an approved file is downloaded from: a link the browser follows, saving the bytes the
 * server sends as an attachment (the SDK's downloadReleaseFile reads them into memory instead).
 */
export const releaseFileContentPath = (id: string, fileId: string) =>
  filePath(id, fileId, 'content');

/** A state in words, as its badge says it. */
export const RELEASE_STATE_WORDS: Readonly<Record<ReleaseState, string>> = {
  pending: 'Waiting for review',
  approved: 'Approved',
  rejected: 'Rejected',
  withdrawn: 'Withdrawn',
};

/** The class of a state's badge (styles.css colours them). */
export function stateBadgeClass(state: ReleaseState): string {
  switch (state) {
    case 'pending':
      return 'badge pending';
    case 'approved':
      return 'badge ok';
    case 'rejected':
      return 'badge down';
    case 'withdrawn':
      return 'badge retired';
    default:
      return state satisfies never;
  }
}

const UNITS = ['KiB', 'MiB', 'GiB'] as const;

/** "812 B", "1.5 KiB", "32 MiB": binary units, as the limits (32 MiB a file) are written. */
export function sizeWords(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  let value = bytes;
  let unit: string = 'B';
  for (const next of UNITS) {
    if (value < 1024) {
      break;
    }
    value /= 1024;
    unit = next;
  }
  // One decimal while it says something (1.5 KiB), none once the number is large (312 KiB).
  const shown = value < 10 ? value.toFixed(1).replace(/\.0$/u, '') : Math.round(value).toString();
  return `${shown} ${unit}`;
}

/** How many hex digits of a SHA-256 the lists show; the whole digest is a hover or a copy away. */
const SHORT_SHA = 12;

/** The first digits of a SHA-256, enough to tell files apart by eye. */
export const shortSha = (sha256: string) =>
  sha256.length <= SHORT_SHA ? sha256 : `${sha256.slice(0, SHORT_SHA)}…`;

const COUNT = new Intl.NumberFormat('en-US');

/** "1 file", "3 files": a count with its noun, the plural taken when it is not one. */
export const counted = (n: number, noun: string) =>
  `${COUNT.format(n)} ${noun}${n === 1 ? '' : 's'}`;

/** What each check means, as a heading over the server's message (which says where). */
const CHECK_TITLES: Readonly<Record<ReleaseCheckCode, string>> = {
  identifiers: 'Holds identifiers from the project’s datasets',
  'row-level': 'Row-level data',
  'small-counts': 'Small counts',
  'not-previewable': 'Cannot be previewed',
};

/** A check's title. */
export const checkTitle = (code: ReleaseCheckCode) => CHECK_TITLES[code];

/** "Showing 200 of 1,204 rows", or "All 12 rows" when the preview holds every one. */
export function rowsWords(shown: number, total: number): string {
  return shown >= total
    ? `All ${counted(total, 'row')}`
    : `Showing ${COUNT.format(shown)} of ${counted(total, 'row')}`;
}

/** "2 flagged", or "none flagged": how many of a request's files the checks warn about. */
export const flaggedWords = (flagged: number) =>
  flagged === 0 ? 'none flagged' : `${COUNT.format(flagged)} flagged`;

/** How much of a purpose a list shows: the whole one is on the request's page. */
const PURPOSE_IN_LIST = 120;

/** A purpose as a list shows it: its first line, cut at a word with an ellipsis when long. */
export function purposeLine(purpose: string): string {
  const [first = ''] = purpose.trim().split(/\r?\n/u);
  const more = first.length < purpose.trim().length;
  if (first.length <= PURPOSE_IN_LIST) {
    return more ? `${first} …` : first;
  }
  const cut = first.slice(0, PURPOSE_IN_LIST);
  const space = cut.lastIndexOf(' ');
  return `${(space > PURPOSE_IN_LIST / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
