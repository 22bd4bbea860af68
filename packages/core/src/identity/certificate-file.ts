/**
 * Training certificate files: the media types admission accepts, recognised by their first bytes
 * (the "magic numbers" of each format) rather than by what a client claims, and the original file
 * name cut down to something safe to show and to put in a header.
 */

/** The media types of certificate files, each with the bytes every such file begins with. */
export const CERTIFICATE_MEDIA_TYPES = {
  // ISO 32000-2 §7.5.2: a PDF file begins with the header "%PDF-".
  'application/pdf': [0x25, 0x50, 0x44, 0x46, 0x2d],
  // PNG (ISO/IEC 15948) §5.2: the eight-byte signature.
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  // JPEG (ITU-T T.81) B.2.1: SOI marker FFD8, followed by the next marker's FF.
  'image/jpeg': [0xff, 0xd8, 0xff],
} as const satisfies Record<string, readonly number[]>;

export type CertificateMediaType = keyof typeof CERTIFICATE_MEDIA_TYPES;

/** The largest certificate file accepted: 10 MiB. */
export const CERTIFICATE_MAX_BYTES = 10 * 1024 * 1024;

/** How many leading bytes `sniffCertificateType` needs to tell every accepted type apart. */
export const CERTIFICATE_SNIFF_BYTES = 8;

/** Is `value` one of the accepted media types (parameters such as `; charset` stripped)? */
export function isCertificateMediaType(value: string): value is CertificateMediaType {
  return Object.hasOwn(CERTIFICATE_MEDIA_TYPES, value);
}

/** The bare media type of a Content-Type header value, lower case, without parameters. */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The accepted media type that `head` (the file's first bytes) begins like, or null. */
export function sniffCertificateType(head: Uint8Array): CertificateMediaType | null {
  for (const [type, magic] of Object.entries(CERTIFICATE_MEDIA_TYPES)) {
    if (
      isCertificateMediaType(type) &&
      magic.length <= head.length &&
      magic.every((byte, i) => head[i] === byte)
    ) {
      return type;
    }
  }
  return null;
}

const EXTENSIONS: Readonly<Record<CertificateMediaType, string>> = {
  'application/pdf': '.pdf',
  'image/png': '.png',
  'image/jpeg': '.jpg',
};

/**
 * A file name safe to store, show and send in `Content-Disposition`: the last path segment only,
 * letters, digits, spaces and `._-()` kept, everything else (control characters, quotes, slashes,
 * non-ASCII) replaced by `_`, no leading dots, at most 100 characters, ending in the extension of
 * its real media type. An empty or unusable name becomes `certificate.<ext>`.
 */
export function sanitizeFileName(name: string, type: CertificateMediaType): string {
  const extension = EXTENSIONS[type];
  const base = (name.split(/[\\/]/u).pop() ?? '')
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9 ._()-]/gu, '_')
    .replace(/\s+/gu, ' ')
    .replace(/^[\s.]+/u, '')
    .trim();
  const stem = base.replace(/\.[A-Za-z0-9]{1,5}$/u, '').trim();
  const kept = /[A-Za-z0-9]/u.test(stem) ? stem.slice(0, 100 - extension.length).trim() : '';
  return `${kept === '' ? 'certificate' : kept}${extension}`;
}
