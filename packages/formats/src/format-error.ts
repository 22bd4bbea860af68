/**
 * The one error every reader of this package throws for a file it cannot read: which file, where in
 * it (the byte offset, and for text tables the line and column), and what was wrong, with a stable
 * `code` from a closed set so that callers never classify failures by message text. A reader never
 * lets hostile input crash, hang or allocate without bound: a length or size past a limit is a
 * FormatError too.
 */

/** Why a file could not be read. */
export const FORMAT_ERROR_CODES = [
  /** The bytes are not well-formed UTF-8 (Unicode 15, Table 3-7). */
  'invalid_utf8',
  /** A single field is longer than the reader's `maxFieldBytes`. */
  'field_too_large',
  /** A record (a row, all its fields) is longer than the reader's `maxRecordBytes`. */
  'record_too_large',
  /** More columns than the reader's `maxColumns`. */
  'too_many_columns',
  /** A quoted field is still open at the end of the file. */
  'unterminated_quote',
  /** A double quote where RFC 4180 allows none (inside an unquoted field, after a closing quote). */
  'unexpected_quote',
  /** The file has no header row. */
  'missing_header',
  /** A header names a column with nothing but white space, or nothing at all. */
  'empty_column_name',
  /** A header names the same column twice. */
  'duplicate_column_name',
  /** A column the caller asked for (a key column) is not in the header. */
  'missing_column',
  /** A row has more or fewer fields than the header. */
  'ragged_row',
  /** More distinct key values than the reader's `maxKeys`. */
  'too_many_keys',
  /** A declared length, count or size (an ECG's samples, a ZIP entry) past the reader's limits. */
  'limit_exceeded',
  /** The file ends before what it declares (an array's data, a ZIP entry, a WFDB signal). */
  'truncated',
  /** The bytes are not a well-formed NumPy .npy array (magic, version, header dictionary). */
  'invalid_npy',
  /** A well-formed .npy this reader does not read (a structured or object dtype). */
  'unsupported_npy',
  /** The bytes are not a well-formed ZIP archive (.npz): directory, entry headers, CRC. */
  'invalid_zip',
  /** A well-formed ZIP this reader does not read (a compression method, encryption, spanning). */
  'unsupported_zip',
  /** The bytes are not well-formed XML, or use what this reader refuses (DTD subsets, entities). */
  'invalid_xml',
  /** A WFDB header or signal file that is not well-formed, or a signal format not read here. */
  'invalid_wfdb',
  /** A readable container that does not hold an ECG as expected (no waveform, leads, rate). */
  'invalid_ecg',
  /** The file is not well-formed Parquet, or declares sizes past the reader's limits. */
  'invalid_parquet',
  /** Well-formed Parquet this reader does not read (a codec, nested columns). */
  'unsupported_parquet',
  /** The file is not well-formed DICOM (PS3.10 file format, PS3.5 data encoding). */
  'invalid_dicom',
  /** Well-formed DICOM whose transfer syntax (a pixel codec) this reader does not decode. */
  'unsupported_transfer_syntax',
  /** Pixel data or a waveform this reader does not decode (bit depth, photometric interpretation). */
  'unsupported_pixel_data',
  /** An attribute a reading needs (Rows, Pixel Data, Waveform Data, …) is absent or unreadable. */
  'missing_element',
  /** More data elements than the reader's `maxElements`. */
  'too_many_elements',
  /** Sequences nested deeper than the reader's `maxDepth`. */
  'too_deep',
  /** The file, or its inflated dataset, is larger than the reader's `maxBytes`. */
  'file_too_large',
  /** The bytes are not well-formed TIFF or BigTIFF (header, IFD chain, tag values, tile layout). */
  'invalid_tiff',
  /** Well-formed TIFF this reader does not read (a compression, bit depth or sample layout). */
  'unsupported_tiff',
] as const;

export type FormatErrorCode = (typeof FORMAT_ERROR_CODES)[number];

/** Where in a file a problem is. `line` and `column` are set for text formats only. */
export interface FormatErrorLocation {
  /** The file's name as the caller gave it (never opened by that name here). */
  file: string;
  /** Zero-based byte offset in the file, counting a byte-order mark if there is one. */
  offset: number;
  /** One-based line number; line breaks inside quoted fields count. */
  line?: number;
  /** One-based field number within its row. */
  column?: number;
}

/** A file that cannot be read, and exactly where and why. */
export class FormatError extends Error {
  readonly code: FormatErrorCode;
  readonly file: string;
  readonly offset: number;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** What was wrong, without the location (the message has both). */
  readonly detail: string;

  constructor(code: FormatErrorCode, detail: string, location: FormatErrorLocation) {
    super(`${location.file}: ${detail} (${describeLocation(location)})`);
    this.name = 'FormatError';
    this.code = code;
    this.detail = detail;
    this.file = location.file;
    this.offset = location.offset;
    this.line = location.line;
    this.column = location.column;
  }
}

function describeLocation(location: FormatErrorLocation): string {
  const parts: string[] = [];
  if (location.line !== undefined) {
    parts.push(`line ${location.line}`);
  }
  if (location.column !== undefined) {
    parts.push(`column ${location.column}`);
  }
  parts.push(`byte ${location.offset}`);
  return parts.join(', ');
}
