/**
 * An `.npy` as a partner's own writer may make it, for the de-identification tests: any header
 * text (keys NumPy never writes, a comment or anything else in the padding) padded to NumPy's
 * 64-byte boundary, version 1.0, then the data bytes as given.
 */
export function npyWithHeaderText(text: string, data: Uint8Array): Uint8Array {
  const padded = `${text.padEnd(Math.ceil((text.length + 11) / 64) * 64 - 11, ' ')}\n`;
  const header = new TextEncoder().encode(padded);
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // "\x93NUMPY" 1.0
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(header, 10);
  out.set(data, 10 + header.length);
  return out;
}
