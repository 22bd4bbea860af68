/**
 * What a file in a release request is, read from its bytes alone: its media type, its text, its
 * table. Pure, so that the disclosure checks (checks.ts) and the reviewer's preview (preview.ts)
 * read a file the same way.
 */

/** How a reviewer can see a file. */
export type ContentKind = 'table' | 'text' | 'image' | 'binary';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

/** Text files by their extension; anything else that is UTF-8 is `text/plain`. */
const TEXT_TYPES: Readonly<Record<string, string>> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  svg: 'image/svg+xml',
  md: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
};

const startsWith = (bytes: Uint8Array, magic: readonly number[]) =>
  magic.every((byte, i) => bytes[i] === byte);

/** The file's extension, lower case, without the dot ('' when none). */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/**
 * The file's text when it is UTF-8 (a byte-order mark dropped) and holds no NUL; null for binary.
 * Decoding is strict: a file that is not valid UTF-8 is binary, never guessed at.
 */
export function textOf(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) {
    return null;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The media type of a file, from its bytes first: PNG and JPEG by their signatures (whatever the
 * name says), text by its extension (SVG is text), other UTF-8 as `text/plain`, and the rest
 * `application/octet-stream`. Never what a client claims.
 */
export function releaseMediaType(name: string, bytes: Uint8Array): string {
  if (startsWith(bytes, PNG_MAGIC)) {
    return 'image/png';
  }
  if (startsWith(bytes, JPEG_MAGIC)) {
    return 'image/jpeg';
  }
  if (textOf(bytes) === null) {
    return 'application/octet-stream';
  }
  return TEXT_TYPES[extensionOf(name)] ?? 'text/plain';
}

/** How a file of `mediaType` is seen. */
export function contentKind(mediaType: string): ContentKind {
  switch (mediaType) {
    case 'text/csv':
    case 'text/tab-separated-values':
      return 'table';
    case 'image/png':
    case 'image/jpeg':
      return 'image';
    case 'application/octet-stream':
      return 'binary';
    default:
      return 'text';
  }
}

/** A delimited table as read: its header and its rows (ragged rows kept as they are). */
export interface DelimitedTable {
  columns: string[];
  rows: string[][];
}

/**
 * Reads CSV or TSV text (RFC 4180 quoting: fields in double quotes may hold the delimiter, line
 * breaks and doubled quotes). Lenient where the ingest's reader is strict: a researcher's output is
 * read to be checked and shown, not to be loaded, so a ragged row or a stray quote is kept as it is
 * rather than refused. Blank lines are skipped. Every row is read; `onRow` may stop early by
 * returning false.
 */
export function readDelimited(
  text: string,
  delimiter: ',' | '\t',
  onRow: (row: string[], index: number) => boolean | void,
): void {
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let index = 0;
  let stopped = false;
  const endRow = () => {
    row.push(field);
    field = '';
    const blank = row.length === 1 && row[0] === '';
    if (!blank) {
      stopped = onRow(row, index) === false;
      index += 1;
    }
    row = [];
  };
  for (let i = 0; i < text.length && !stopped; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      endRow();
    } else {
      field += c;
    }
  }
  if (!stopped && (field !== '' || row.length > 0)) {
    endRow();
  }
}

/** The delimiter of a table of `mediaType`. */
export function delimiterOf(mediaType: string): ',' | '\t' {
  return mediaType === 'text/tab-separated-values' ? '\t' : ',';
}
