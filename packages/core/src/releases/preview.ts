import { contentKind, delimiterOf, readDelimited, textOf } from './content.js';
import type { ReleasePreview } from './release.js';

/** How much of a file a preview shows. */
export interface PreviewLimits {
  /** Table rows shown (the header apart). */
  maxRows: number;
  /** Characters of text shown. */
  maxTextChars: number;
}

export const DEFAULT_PREVIEW_LIMITS: PreviewLimits = { maxRows: 200, maxTextChars: 200_000 };

/**
 * What a reviewer or member sees of a file before it leaves: the first rows of a table (and how
 * many there are), the start of a text, an image to fetch, or nothing and why. Pure: the stored
 * bytes and their media type (as releaseMediaType found it when the request was made).
 */
export function previewRelease(
  bytes: Uint8Array,
  mediaType: string,
  limits: PreviewLimits = DEFAULT_PREVIEW_LIMITS,
): ReleasePreview {
  const kind = contentKind(mediaType);
  if (kind === 'image') {
    return { kind: 'image' };
  }
  const text = kind === 'binary' ? null : textOf(bytes);
  if (text === null) {
    return {
      kind: 'none',
      reason: 'binary content cannot be shown; ask the requester what it holds',
    };
  }
  if (kind === 'text') {
    return {
      kind: 'text',
      text: text.slice(0, limits.maxTextChars),
      truncated: text.length > limits.maxTextChars,
    };
  }
  let columns: string[] = [];
  const rows: string[][] = [];
  let totalRows = 0;
  readDelimited(text, delimiterOf(mediaType), (row, index) => {
    if (index === 0) {
      columns = row;
    } else {
      totalRows += 1;
      if (rows.length < limits.maxRows) {
        rows.push(row);
      }
    }
  });
  return { kind: 'table', columns, rows, totalRows, truncated: totalRows > rows.length };
}
