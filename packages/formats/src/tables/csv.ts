/**
 * CSV after RFC 4180, read as a stream: fields separated by commas, optionally enclosed in double
 * quotes, inside which commas, line breaks and doubled quotes ("") are data. Records end with CRLF,
 * LF or a lone CR. The first record is the header and is required. The file is UTF-8, with or
 * without a byte-order mark, and is checked to be so byte by byte.
 *
 * Stricter than most readers, because a curator would rather hear about a broken delivery than
 * have it guessed at: a quote inside an unquoted field, anything but a comma or line break after a
 * closing quote, a row with more or fewer fields than the header, and a quote still open at the end
 * of the file are errors. Blank lines (nothing between two line breaks) are skipped.
 *
 * Missing values follow PostgreSQL's COPY ... CSV: an empty unquoted field is `null`, an empty
 * quoted field ("") is the empty string.
 *
 * Memory is bounded whatever the input: a field is at most `maxFieldBytes`, a record at most
 * `maxRecordBytes`, a header at most `maxColumns` columns, and at most one window of the source
 * (64 KiB) is parsed ahead of the rows the caller has taken.
 */
import { FormatError, type FormatErrorCode } from '../format-error.js';
import { Utf8Validator } from './utf8.js';

/** Bytes of a file as a stream: a Node `Readable` (without `setEncoding`) or any async iterable. */
export type ByteSource = AsyncIterable<Uint8Array>;

export interface CsvOptions {
  /** The file's name, for error messages; the source is what is read. */
  name: string;
  /** The longest field, in bytes. Default 8 MiB. */
  maxFieldBytes?: number;
  /** The longest record (all its fields together), in bytes. Default 64 MiB. */
  maxRecordBytes?: number;
  /** The most columns a header may have. Default 16,384 (as many as a spreadsheet has). */
  maxColumns?: number;
}

/** The limits that apply when options do not say otherwise. */
export const CSV_DEFAULT_LIMITS = {
  maxFieldBytes: 8 * 1024 * 1024,
  maxRecordBytes: 64 * 1024 * 1024,
  maxColumns: 16_384,
} as const;

/** One data row: its values in header order, and where it begins in the file. */
export interface CsvRow {
  values: (string | null)[];
  /** The one-based line the row begins on. */
  line: number;
  /** The byte offset the row begins at. */
  offset: number;
}

/** An open CSV file: its header, then its rows, each read once, in order. */
export interface CsvTable extends AsyncIterable<CsvRow> {
  /** The column names of the header row, in order. */
  readonly columns: readonly string[];
  /** Bytes taken from the source so far (all of them once the rows are exhausted). */
  readonly bytesRead: number;
  /** Stops reading and releases the source, for a caller that leaves before the last row. */
  close(): Promise<void>;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const BOM = [0xef, 0xbb, 0xbf] as const;
/** How much of a chunk is parsed before the rows found so far are handed out. */
const WINDOW_BYTES = 64 * 1024;

/**
 * Opens a CSV file: reads up to the end of its header (and no further than the first row), checks
 * the header, and returns the table whose rows the caller then iterates. Every problem with the
 * file is a `FormatError`, thrown here for the header and from the iteration for the rows.
 */
export async function readCsv(source: ByteSource, options: CsvOptions): Promise<CsvTable> {
  const parser = new CsvParser({
    name: options.name,
    maxFieldBytes: options.maxFieldBytes ?? CSV_DEFAULT_LIMITS.maxFieldBytes,
    maxRecordBytes: options.maxRecordBytes ?? CSV_DEFAULT_LIMITS.maxRecordBytes,
    maxColumns: options.maxColumns ?? CSV_DEFAULT_LIMITS.maxColumns,
  });
  let bytesRead = 0;
  const rows = parseRows(source, parser, (count) => {
    bytesRead += count;
  });
  const first = await rows.next();
  const columns = parser.columns;
  if (columns === null) {
    // parseRows only ends without a header by throwing; this keeps the types honest.
    throw parser.error('missing_header', 'the file has no header row');
  }
  async function* remaining(): AsyncGenerator<CsvRow, void, undefined> {
    if (first.done !== true) {
      yield first.value;
    }
    yield* rows;
  }
  const iterator = remaining();
  return {
    columns,
    get bytesRead() {
      return bytesRead;
    },
    [Symbol.asyncIterator]: () => iterator,
    close: async () => {
      await iterator.return();
      await rows.return();
    },
  };
}

/**
 * One record as RFC 4180 text, ending in CRLF: the writer half of `readCsv`, so that what it writes
 * reads back the same. A field is quoted when it holds a comma, a quote, a line break or leading or
 * trailing white space, and when it is the empty string (an unquoted empty field reads as null).
 * The one loss: a row of a single null is written as "" (the empty string), because a blank line is
 * no row at all.
 */
export function formatCsvRow(values: readonly (string | null)[]): string {
  if (values.length === 1 && values[0] === null) {
    return '""\r\n';
  }
  return `${values.map(formatField).join(',')}\r\n`;
}

function formatField(value: string | null): string {
  if (value === null) {
    return '';
  }
  return value === '' || /[",\r\n]|^\s|\s$/u.test(value)
    ? `"${value.replaceAll('"', '""')}"`
    : value;
}

async function* parseRows(
  source: ByteSource,
  parser: CsvParser,
  onBytes: (count: number) => void,
): AsyncGenerator<CsvRow, void, undefined> {
  const utf8 = new Utf8Validator();
  const out: CsvRow[] = [];
  let isFirst = true;
  for await (const chunk of withLeadingBytes(source, BOM.length)) {
    onBytes(chunk.length);
    for (let start = 0; start < chunk.length; start += WINDOW_BYTES) {
      let window = chunk.subarray(start, start + WINDOW_BYTES);
      const invalidAt = utf8.check(window);
      if (isFirst) {
        isFirst = false;
        if (BOM.every((byte, i) => window[i] === byte)) {
          parser.skip(BOM.length);
          window = window.subarray(BOM.length);
        }
      }
      if (invalidAt >= 0) {
        // Parse up to where the bad sequence begins, so that the error names its line and field.
        parser.push(window.subarray(0, Math.max(0, invalidAt - parser.offset)), out);
        yield* out;
        throw parser.error('invalid_utf8', 'the bytes are not valid UTF-8', invalidAt);
      }
      parser.push(window, out);
      yield* out;
      out.length = 0;
    }
  }
  const cutAt = utf8.finish();
  if (cutAt >= 0) {
    throw parser.error('invalid_utf8', 'the file ends inside a UTF-8 sequence', cutAt);
  }
  parser.finish(out);
  yield* out;
}

/**
 * The source's chunks, the first of them made at least `count` bytes long (unless the whole source
 * is shorter), so that a byte-order mark split across chunks is still seen as one. Rejects text
 * chunks: offsets are in bytes, and a `Readable` with an encoding set has lost them.
 */
async function* withLeadingBytes(
  source: ByteSource,
  count: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  let head: Uint8Array | null = new Uint8Array(0);
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError('a CSV source must yield bytes (a Readable without setEncoding)');
    }
    if (head === null || (head.length === 0 && chunk.length >= count)) {
      head = null;
      yield chunk;
      continue;
    }
    const joined: Uint8Array = new Uint8Array(head.length + chunk.length);
    joined.set(head);
    joined.set(chunk, head.length);
    if (joined.length >= count) {
      head = null;
      yield joined;
    } else {
      head = joined;
    }
  }
  if (head !== null && head.length > 0) {
    yield head;
  }
}

interface ParserLimits {
  name: string;
  maxFieldBytes: number;
  maxRecordBytes: number;
  maxColumns: number;
}

/** Where the parser is within a record. */
const enum State {
  /** Before the first byte of a field (or of a record). */
  FieldStart,
  /** Inside an unquoted field whose bytes continue from an earlier chunk. */
  Unquoted,
  /** Inside a quoted field. */
  Quoted,
  /** Just after a quote inside a quoted field: either the closing quote or half of "". */
  QuoteInQuoted,
}

/** The RFC 4180 state machine over bytes, one chunk at a time; the first record is the header. */
class CsvParser {
  /** The header, once it has been read. */
  columns: string[] | null = null;
  /** The offset of the next byte to parse. */
  offset = 0;

  private line = 1;
  private state = State.FieldStart;
  /** The previous byte was a CR, so an LF right after it belongs to the same line break. */
  private isAfterCr = false;

  private fields: (string | null)[] = [];
  private recordBytes = 0;
  private recordLine = 1;
  private recordOffset = 0;

  /** The current field's bytes, when it is quoted or spans chunks. */
  private buffer = new Uint8Array(4096);
  private length = 0;
  private fieldOffset = 0;
  private fieldLine = 1;

  constructor(private readonly limits: ParserLimits) {}

  /** Passes over bytes that are not data (a byte-order mark). */
  skip(count: number): void {
    this.offset += count;
  }

  /** Parses the next bytes of the file, appending every record they complete to `out`. */
  push(chunk: Uint8Array, out: CsvRow[]): void {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const base = this.offset;
    const end = bytes.length;
    let i = 0;
    while (i < end) {
      const byte = bytes[i] ?? 0;
      if (this.isAfterCr) {
        this.isAfterCr = false;
        if (byte === LF) {
          // The LF of a CRLF: the line was already counted at the CR.
          if (this.state === State.Quoted) {
            this.append(bytes, i, i + 1, base);
          }
          i++;
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart: {
          if ((byte === CR || byte === LF) && this.fields.length === 0) {
            // A blank line: no record.
            this.newLine(byte);
            i++;
            continue;
          }
          if (this.fields.length === 0) {
            this.recordOffset = base + i;
            this.recordLine = this.line;
          }
          this.fieldOffset = base + i;
          this.fieldLine = this.line;
          this.length = 0;
          if (byte === QUOTE) {
            this.state = State.Quoted;
            i++;
          } else if (byte === COMMA) {
            this.endField(null, 0);
            i++;
          } else if (byte === CR || byte === LF) {
            this.endField(null, 0);
            this.endRecord(out);
            this.newLine(byte);
            i++;
          } else {
            this.state = State.Unquoted;
          }
          continue;
        }
        case State.Unquoted: {
          let j = i;
          let stop = -1;
          while (j < end) {
            const b = bytes[j] ?? 0;
            if (b === COMMA || b === CR || b === LF || b === QUOTE) {
              stop = b;
              break;
            }
            j++;
          }
          let value: string | null = null;
          let size = 0;
          if (this.length === 0 && stop >= 0) {
            // The whole field is in this chunk: decode it in place.
            size = j - i;
            if (size > this.limits.maxFieldBytes) {
              throw this.fieldTooLarge(base + i + this.limits.maxFieldBytes);
            }
            value = bytes.toString('utf8', i, j);
          } else {
            this.append(bytes, i, j, base);
            if (stop >= 0) {
              size = this.length;
              value = this.decodeBuffer();
            }
          }
          i = j;
          if (stop < 0) {
            continue;
          }
          if (stop === QUOTE) {
            throw this.error(
              'unexpected_quote',
              'a double quote inside an unquoted field (RFC 4180 wants the field quoted and the quote doubled)',
              base + j,
            );
          }
          this.endField(value, size);
          if (stop !== COMMA) {
            this.endRecord(out);
            this.newLine(stop);
          }
          i++;
          continue;
        }
        case State.Quoted: {
          let j = i;
          while (j < end) {
            const b = bytes[j] ?? 0;
            if (b === QUOTE) {
              break;
            }
            if (b === CR || b === LF) {
              if (!(b === LF && this.isAfterCr)) {
                this.line++;
              }
              this.isAfterCr = b === CR;
            } else {
              this.isAfterCr = false;
            }
            j++;
          }
          this.append(bytes, i, j, base);
          if (j < end) {
            this.isAfterCr = false;
            this.state = State.QuoteInQuoted;
            j++;
          }
          i = j;
          continue;
        }
        case State.QuoteInQuoted: {
          if (byte === QUOTE) {
            this.append(bytes, i, i + 1, base);
            this.state = State.Quoted;
          } else if (byte === COMMA) {
            this.endField(this.decodeBuffer(), this.length);
          } else if (byte === CR || byte === LF) {
            this.endField(this.decodeBuffer(), this.length);
            this.endRecord(out);
            this.newLine(byte);
          } else {
            throw this.error(
              'unexpected_quote',
              'a closing quote is followed by something other than a comma or a line break',
              base + i,
            );
          }
          i++;
          continue;
        }
        default:
          return this.state satisfies never;
      }
    }
    this.offset = base + end;
  }

  /** At the end of the file: completes the last record, or fails on an open quote or no header. */
  finish(out: CsvRow[]): void {
    switch (this.state) {
      case State.Quoted:
        throw new FormatError('unterminated_quote', 'a quoted field is not closed', {
          file: this.limits.name,
          offset: this.fieldOffset,
          line: this.fieldLine,
          column: this.fields.length + 1,
        });
      case State.Unquoted:
      case State.QuoteInQuoted:
        this.endField(this.decodeBuffer(), this.length);
        this.endRecord(out);
        break;
      case State.FieldStart:
        if (this.fields.length > 0) {
          // "a,b\n1," ends with an empty last field.
          this.endField(null, 0);
          this.endRecord(out);
        }
        break;
      default:
        this.state satisfies never;
    }
    if (this.columns === null) {
      throw this.error('missing_header', 'the file has no header row', this.offset);
    }
  }

  /** A FormatError at `offset` (default: the current field), in the current line and field. */
  error(code: FormatErrorCode, detail: string, offset = this.fieldOffset): FormatError {
    return new FormatError(code, detail, {
      file: this.limits.name,
      offset,
      line: this.line,
      column: this.fields.length + 1,
    });
  }

  private fieldTooLarge(offset: number): FormatError {
    return new FormatError(
      'field_too_large',
      `a field is longer than ${this.limits.maxFieldBytes} bytes`,
      { file: this.limits.name, offset, line: this.fieldLine, column: this.fields.length + 1 },
    );
  }

  private newLine(byte: number): void {
    this.line++;
    this.isAfterCr = byte === CR;
    this.state = State.FieldStart;
  }

  /** Adds bytes [from, to) of the chunk to the current field, within the field limit. */
  private append(bytes: Uint8Array, from: number, to: number, base: number): void {
    const count = to - from;
    if (count === 0) {
      return;
    }
    const needed = this.length + count;
    if (needed > this.limits.maxFieldBytes) {
      throw this.fieldTooLarge(base + from + (this.limits.maxFieldBytes - this.length));
    }
    if (needed > this.buffer.length) {
      let size = this.buffer.length * 2;
      while (size < needed) {
        size *= 2;
      }
      const grown = new Uint8Array(Math.min(size, this.limits.maxFieldBytes));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(bytes.subarray(from, to), this.length);
    this.length = needed;
  }

  private decodeBuffer(): string {
    return Buffer.from(this.buffer.buffer, 0, this.length).toString('utf8');
  }

  private endField(value: string | null, size: number): void {
    const limit = this.columns === null ? this.limits.maxColumns : this.columns.length;
    if (this.fields.length >= limit) {
      if (this.columns === null) {
        throw new FormatError(
          'too_many_columns',
          `the header has more than ${this.limits.maxColumns} columns`,
          { file: this.limits.name, offset: this.fieldOffset, line: this.recordLine },
        );
      }
      throw new FormatError(
        'ragged_row',
        `the row on line ${this.recordLine} has more fields than the header's ${limit}`,
        {
          file: this.limits.name,
          offset: this.fieldOffset,
          line: this.recordLine,
          column: this.fields.length + 1,
        },
      );
    }
    this.recordBytes += size;
    if (this.recordBytes > this.limits.maxRecordBytes) {
      throw new FormatError(
        'record_too_large',
        `the row on line ${this.recordLine} is longer than ${this.limits.maxRecordBytes} bytes`,
        { file: this.limits.name, offset: this.fieldOffset, line: this.recordLine },
      );
    }
    this.fields.push(value);
    this.state = State.FieldStart;
    this.length = 0;
  }

  private endRecord(out: CsvRow[]): void {
    const fields = this.fields;
    this.fields = [];
    this.recordBytes = 0;
    if (this.columns === null) {
      this.columns = this.checkHeader(fields);
      return;
    }
    if (fields.length !== this.columns.length) {
      throw new FormatError(
        'ragged_row',
        `the row on line ${this.recordLine} has ${fields.length} fields, the header ${this.columns.length}`,
        { file: this.limits.name, offset: this.recordOffset, line: this.recordLine },
      );
    }
    out.push({ values: fields, line: this.recordLine, offset: this.recordOffset });
  }

  private checkHeader(fields: (string | null)[]): string[] {
    const seen = new Map<string, number>();
    return fields.map((name, index) => {
      const where = {
        file: this.limits.name,
        offset: this.recordOffset,
        line: this.recordLine,
        column: index + 1,
      };
      if (name === null || name.trim() === '') {
        throw new FormatError(
          'empty_column_name',
          `column ${index + 1} of the header has no name`,
          where,
        );
      }
      const earlier = seen.get(name);
      if (earlier !== undefined) {
        throw new FormatError(
          'duplicate_column_name',
          `the header names column "${name}" twice (columns ${earlier} and ${index + 1})`,
          where,
        );
      }
      seen.set(name, index + 1);
      return name;
    });
  }
}
