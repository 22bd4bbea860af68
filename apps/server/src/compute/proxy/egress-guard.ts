/**
 * The egress guard of the instance proxy (issue 8): what must not leave a notebook instance through
 * the browser. Until reviewed release of results exists, no file leaves: Jupyter's routes that hand
 * out a file as it is (`files/…`, anything with `?download=…`, nbconvert's exports), the contents
 * API's reads of the mounted datasets, and any response larger than a limit (cut off as it streams,
 * never buffered whole). What a notebook shows on screen (cell outputs over the kernel websocket,
 * notebooks read through the contents API) still passes; the size limit bounds it.
 *
 * Paths are judged as Jupyter will read them: percent-decoded, with repeated slashes collapsed;
 * a path with `.` or `..` segments is refused outright rather than resolved, so that
 * `api/contents/project/../datasets/x` cannot slip past the dataset rule.
 */
/** Why a request or response was stopped. */
export type EgressReason =
  'files' | 'download' | 'nbconvert' | 'dataset-contents' | 'unclear-path' | 'response-size';

export interface EgressBlock {
  reason: EgressReason;
  /** Said to the researcher in the 403 and kept in the audit event. */
  detail: string;
}

/** 32 MiB: larger than any notebook a researcher edits by hand, far smaller than a dataset. */
export const DEFAULT_RESPONSE_LIMIT_BYTES = 32 * 1024 * 1024;

/** Where the instance's datasets are, relative to Jupyter's root (`/home/ngsci`). */
const DATASETS_DIR = 'datasets';

const NOTHING_LEAVES =
  'Nothing leaves an instance until reviewed release of results exists; work with the data inside the notebook.';

/**
 * Judges a request before it reaches Jupyter. `path` is the part after `/instances/<id>/`, as it
 * came (still percent-encoded, no query); `query` is the query string without `?`.
 */
export function checkEgressRequest(
  method: string,
  path: string,
  query: string,
): EgressBlock | null {
  const segments = decodedSegments(path);
  if (segments === null) {
    return {
      reason: 'unclear-path',
      detail: `The path ${JSON.stringify(path)} has '.' or '..' segments or cannot be decoded; the proxy does not forward it.`,
    };
  }
  if (hasDownloadArgument(query)) {
    // Tornado's get_argument('download') is truthy for any non-empty value, "0" and "false" too.
    return {
      reason: 'download',
      detail: `Downloads (?download=…) are blocked. ${NOTHING_LEAVES}`,
    };
  }
  const [first, second, third] = segments;
  if (first === 'files') {
    return { reason: 'files', detail: `Jupyter's files/ route is blocked. ${NOTHING_LEAVES}` };
  }
  if (first === 'nbconvert') {
    return {
      reason: 'nbconvert',
      detail: `Exports through nbconvert/ are blocked. ${NOTHING_LEAVES}`,
    };
  }
  if (
    first === 'api' &&
    second === 'contents' &&
    third === DATASETS_DIR &&
    segments.length > 3 &&
    readsContent(method, query)
  ) {
    return {
      reason: 'dataset-contents',
      detail: `Reading dataset files through the contents API is blocked (listing them with ?content=0 is not). ${NOTHING_LEAVES}`,
    };
  }
  return null;
}

/** The block for a response that grew past `limitBytes`. */
export function responseTooLarge(limitBytes: number): EgressBlock {
  return {
    reason: 'response-size',
    detail: `The response is larger than the proxy's limit of ${limitBytes} bytes and was stopped. ${NOTHING_LEAVES}`,
  };
}

/**
 * The path's segments, percent-decoded, empty ones dropped (Jupyter strips and joins them); null
 * when a segment is `.` or `..` or the encoding is broken.
 */
function decodedSegments(path: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  // Decoded first: an encoded slash (%2F) separates segments for Jupyter's file paths too.
  const segments = decoded.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    return null;
  }
  return segments;
}

/** Query parameters as tornado sees them (`+` is a space), malformed pairs kept raw. */
function queryArguments(query: string): URLSearchParams {
  return new URLSearchParams(query);
}

function hasDownloadArgument(query: string): boolean {
  if (query === '') {
    return false;
  }
  for (const [name, value] of queryArguments(query)) {
    if (name === 'download' && value !== '') {
      return true;
    }
  }
  return false;
}

/**
 * Whether a contents API call returns a file's content: a GET unless `content=0` (Jupyter's
 * contents handler reads `content` as an integer flag, default 1) or `type=directory` (a listing of
 * names, which Jupyter refuses for a file). Writes into the read-only mount fail in the sandbox;
 * copying out of it (POST with copy_from) stays inside the instance.
 */
function readsContent(method: string, query: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') {
    return false;
  }
  const args = queryArguments(query);
  // Tornado takes the last of repeated arguments: every one must say so, not just the first.
  return !(allAre(args.getAll('content'), '0') || allAre(args.getAll('type'), 'directory'));
}

function allAre(values: readonly string[], wanted: string): boolean {
  return values.length > 0 && values.every((value) => value === wanted);
}

/**
 * Counts a response body against `limitBytes` as it streams (never buffered whole): the proxy asks
 * before passing each chunk, and cuts the connection at the first one refused, so at most the
 * limit reaches the client.
 */
export class ResponseSizeLimit {
  private passed = 0;
  private over = false;

  constructor(readonly limitBytes: number) {}

  /** Bytes let through so far. */
  get bytes(): number {
    return this.passed;
  }

  /** Whether a chunk of `length` bytes may pass (then counted); false from the first that would go over. */
  admit(length: number): boolean {
    if (this.over || length > this.limitBytes - this.passed) {
      this.over = true;
      return false;
    }
    this.passed += length;
    return true;
  }
}
