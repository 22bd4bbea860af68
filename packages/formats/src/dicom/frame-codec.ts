/**
 * The one way a frame's codec runs (`./jpeg.ts`, `./jpeg2000.ts`): the checks around the codec throw
 * FormatErrors made by `fail`, which names the frame's file and fragment; anything else thrown (a
 * codec's own error class, a WebAssembly decoder's refusal) becomes an `invalid_dicom` FormatError
 * saying which stream could not be decoded and why.
 */
import { FormatError, type FormatErrorCode } from '../format-error.js';
import type { DicomFile } from './parse.js';

/** Makes the FormatError of the frame being decoded. */
export type FailFrame = (code: FormatErrorCode, detail: string) => FormatError;

/** Runs `decode` on the frame whose fragment starts at `offset`; `stream` names its coding. */
export function runFrameCodec<T>(
  file: DicomFile,
  offset: number,
  stream: string,
  decode: (fail: FailFrame) => T,
): T {
  const fail: FailFrame = (code, detail) =>
    new FormatError(code, detail, { file: file.name, offset });
  try {
    return decode(fail);
  } catch (error) {
    if (error instanceof FormatError) {
      throw error;
    }
    throw fail(
      'invalid_dicom',
      `the ${stream} stream cannot be decoded (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}
