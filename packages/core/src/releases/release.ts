import { z } from 'zod';

/**
 * The airlock: release requests. Nothing leaves Lantern but results a reviewer approved
 * (DESIGN.md: "No download is allowed, ever; reviewed results are the only thing that leaves").
 * A researcher asks from inside an instance for files they made to be released, with a purpose;
 * automated disclosure checks (checks.ts) help a reviewer, who approves or rejects with a reason;
 * only then may the project's members download them. The shapes here are the API's (the web app
 * and the CLI read them through the SDK); who may do what is in rules.ts.
 */

/**
 * `pending` until a reviewer decides (`approved`, `rejected`) or the requester, an owner or the
 * project's archiving withdraws it (`withdrawn`). Only `pending` moves.
 */
export const RELEASE_STATES = ['pending', 'approved', 'rejected', 'withdrawn'] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

/** A release request id: `rel_` and 16 lower-case hex digits. */
export const RELEASE_ID = /^rel_[0-9a-f]{16}$/u;
export const releaseIdSchema = z
  .string()
  .regex(RELEASE_ID, 'a release request id looks like rel_0123456789abcdef');

/** A file id of a release request: `rlf_` and 16 lower-case hex digits. */
export const RELEASE_FILE_ID = /^rlf_[0-9a-f]{16}$/u;
export const releaseFileIdSchema = z
  .string()
  .regex(RELEASE_FILE_ID, 'a release file id looks like rlf_0123456789abcdef');

/**
 * What the automated disclosure checks flag (checks.ts). They help the reviewer and never decide:
 * - `identifiers`: the text holds pseudonymous ids of a dataset version attached to the project;
 * - `row-level`: a table with an id column, or more rows than the threshold;
 * - `small-counts`: a table whose count-like columns hold counts under the threshold;
 * - `not-previewable`: the reviewer cannot see the content (binary).
 */
export const RELEASE_CHECK_CODES = [
  'identifiers',
  'row-level',
  'small-counts',
  'not-previewable',
] as const;
export type ReleaseCheckCode = (typeof RELEASE_CHECK_CODES)[number];

export const releaseCheckSchema = z.object({
  code: z.enum(RELEASE_CHECK_CODES),
  /** Where and what, values masked: `column patient_ngsci_id on 1,204 rows`. */
  message: z.string(),
});
export type ReleaseCheck = z.infer<typeof releaseCheckSchema>;

/** Why the files should leave, in the requester's words, for the reviewer. */
export const releasePurposeSchema = z
  .string()
  .trim()
  .min(1, 'say why these files should leave')
  .max(2_000, 'at most 2000 characters')
  // eslint-disable-next-line no-control-regex -- line breaks and tabs are text; other controls are not
  .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/u, 'must not hold control characters');

/** A reviewer's decision: approve or reject, always with a reason the project's members read. */
export const releaseDecisionSchema = z.object({
  approved: z.boolean(),
  reason: z
    .string()
    .trim()
    .min(1, 'a decision needs a reason')
    .max(5_000, 'at most 5000 characters'),
});
export type ReleaseDecision = z.infer<typeof releaseDecisionSchema>;

const person = z.object({ id: z.string(), name: z.string() });

/** A request in a list: the project's page, the reviewers' queue. */
export const releaseSummarySchema = z.object({
  id: z.string(),
  projectId: z.string(),
  projectTitle: z.string(),
  purpose: z.string(),
  state: z.enum(RELEASE_STATES),
  requestedBy: person,
  requestedAt: z.string(),
  decidedAt: z.string().nullable(),
  fileCount: z.number().int(),
  totalBytes: z.number().int(),
  /** Files with at least one disclosure check. */
  flaggedFiles: z.number().int(),
});
export type ReleaseSummary = z.infer<typeof releaseSummarySchema>;

export const releaseFileSchema = z.object({
  id: z.string(),
  name: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
  mediaType: z.string(),
  checks: z.array(releaseCheckSchema),
});
export type ReleaseFile = z.infer<typeof releaseFileSchema>;

/** One request whole, with what the caller may do with it now. */
export const releaseSchema = releaseSummarySchema.extend({
  files: z.array(releaseFileSchema),
  instanceId: z.string().nullable(),
  decision: z
    .object({ approved: z.boolean(), by: person, at: z.string(), reason: z.string() })
    .nullable(),
  canDecide: z.boolean(),
  canWithdraw: z.boolean(),
  canDownload: z.boolean(),
});
export type Release = z.infer<typeof releaseSchema>;

/** A page of requests, and the cursor of the next (null on the last). */
export const releasePageSchema = z.object({
  releases: z.array(releaseSummarySchema),
  next: z.string().nullable(),
});
export type ReleasePage = z.infer<typeof releasePageSchema>;

/**
 * What a reviewer (or member) sees of a file: the first rows of a table, the start of a text, an
 * image (its bytes from the `/image` route), or nothing and why.
 */
export const releasePreviewSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('table'),
    columns: z.array(z.string()),
    rows: z.array(z.array(z.string())),
    totalRows: z.number().int(),
    truncated: z.boolean(),
  }),
  z.object({ kind: z.literal('text'), text: z.string(), truncated: z.boolean() }),
  z.object({ kind: z.literal('image') }),
  z.object({ kind: z.literal('none'), reason: z.string() }),
]);
export type ReleasePreview = z.infer<typeof releasePreviewSchema>;

/** How much one request may carry (the server's configuration, these by default). */
export interface ReleaseLimits {
  maxFiles: number;
  maxFileBytes: number;
  maxRequestBytes: number;
}

export const DEFAULT_RELEASE_LIMITS: ReleaseLimits = {
  maxFiles: 20,
  maxFileBytes: 32 * 1024 * 1024,
  maxRequestBytes: 64 * 1024 * 1024,
};

/** The thresholds of the disclosure checks (configuration, these by default). */
export interface DisclosureThresholds {
  /** A table with more rows than this is row-level data. */
  maxRows: number;
  /** Counts from 1 to this minus one can identify people (a cell of 3 patients). */
  minCount: number;
}

export const DEFAULT_DISCLOSURE_THRESHOLDS: DisclosureThresholds = {
  maxRows: 1000,
  minCount: 10,
};
