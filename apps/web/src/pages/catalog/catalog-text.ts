import { ApiError } from '@lantern/sdk';

/** What went wrong, in the server's words. */
export const problemOf = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail : 'the server cannot be reached';

const regions = new Intl.DisplayNames(['en'], { type: 'region' });

/** `TW` as "Taiwan" (ISO 3166-1 alpha-2 codes, named by the browser's own data). */
export function countryName(code: string): string {
  try {
    return regions.of(code) ?? code;
  } catch {
    return code;
  }
}

/** A date as the reader's locale writes it. */
export const day = (iso: string) => new Date(iso).toLocaleDateString();

/** Where a dataset's page is, at a version or at its default one. */
export function datasetPath(slug: string, version?: string | null): string {
  const base = `/datasets/${encodeURIComponent(slug)}`;
  return version === undefined || version === null
    ? base
    : `${base}/versions/${encodeURIComponent(version)}`;
}
