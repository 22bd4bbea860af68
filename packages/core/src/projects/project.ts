import { z } from 'zod';
import { datasetSlugSchema } from '../catalog/dataset.js';

/**
 * A project: where research is done. It gathers people (members with a role), the datasets they
 * may use (per dataset and version), and later their shared files, instances and money. Only
 * shapes and their local rules live here; who may do what is in `project-actions.ts`, the rules
 * of invitations and owners in their own files.
 */

/** A project id: `prj_` and 16 lower-case hex digits. */
export const PROJECT_ID = /^prj_[0-9a-f]{16}$/u;
export const projectIdSchema = z
  .string()
  .regex(PROJECT_ID, 'a project id looks like prj_0123456789abcdef');

/**
 * `active` while work goes on; `archived` once an owner closes it: its instances stop and its
 * dataset access ends, but nothing is deleted and its members still read the record.
 */
export const PROJECT_STATUSES = ['active', 'archived'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

/** One line of text: no control characters, trimmed. */
const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `at most ${max} characters`)
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    .regex(/^[^\u0000-\u001f\u007f]*$/u, 'must be one line without control characters');

export const projectTitleSchema = line(200);

/**
 * The research purpose: what the project studies and why, in plain words. Reviewers and partners
 * read it when they answer an access request, so it must say something.
 */
export const researchPurposeSchema = z
  .string()
  .trim()
  .min(40, 'say what the project studies and why (40 characters at least)')
  .max(5_000, 'at most 5000 characters')
  // eslint-disable-next-line no-control-regex -- line breaks and tabs are text; other controls are not
  .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/u, 'must not hold control characters');

/** A published version number as typed: `1.0`, `2.1.1`. */
export const versionNumberSchema = z
  .string()
  .regex(/^\d{1,6}\.\d{1,6}(\.\d{1,6})?$/u, 'a version like 1.0 or 2.1.1');

/** A dataset a project asks for: access is per dataset AND version. */
export const datasetRequestSchema = z.object({
  slug: datasetSlugSchema,
  version: versionNumberSchema,
});
export type DatasetRequest = z.infer<typeof datasetRequestSchema>;

/** What creating a project takes. */
export const newProjectSchema = z.object({
  title: projectTitleSchema,
  purpose: researchPurposeSchema,
  datasets: z
    .array(datasetRequestSchema)
    .max(50, 'at most 50 datasets at once')
    .refine(
      (datasets) => new Set(datasets.map((d) => `${d.slug}@${d.version}`)).size === datasets.length,
      'each dataset version once',
    )
    .default([]),
});
export type NewProject = z.infer<typeof newProjectSchema>;

/** What an update may change. */
export const projectChangesSchema = z
  .object({ title: projectTitleSchema.optional(), purpose: researchPurposeSchema.optional() })
  .refine((changes) => changes.title !== undefined || changes.purpose !== undefined, {
    message: 'change the title, the purpose or both',
  });
export type ProjectChanges = z.infer<typeof projectChangesSchema>;

/** Does a project in this status accept changes (members, datasets, title)? */
export function isProjectOpen(status: ProjectStatus): boolean {
  switch (status) {
    case 'active':
      return true;
    case 'archived':
      return false;
    default:
      return status satisfies never;
  }
}

/**
 * An address to invite, as typed: surrounding spaces ignored (normaliseEmail lower-cases it).
 * Only its shape is checked; the link sent to it is what proves it.
 */
export const invitationEmailSchema = z
  .string()
  .trim()
  .max(320, 'at most 320 characters')
  .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/u, 'not an email address');
