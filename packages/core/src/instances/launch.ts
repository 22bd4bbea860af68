/**
 * What a launch asks for (issue 8): an instance type and the dataset versions to mount, each one
 * the project holds. Checked here so the server, the SDK and the web app agree on the shape.
 */
import { z } from 'zod';
import { INSTANCE_TYPE_NAME } from './instance-type.js';

/** `ins_` and 16 lower-case hex digits. */
export const INSTANCE_ID = /^ins_[0-9a-f]{16}$/u;

export const instanceIdSchema = z.string().regex(INSTANCE_ID, 'an instance id, like ins_0123…');

export const launchRequestSchema = z
  .object({
    type: z.string().regex(INSTANCE_TYPE_NAME, 'a family and a size, like cpu.xsmall'),
    datasets: z
      .array(
        z
          .object({
            slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/u, 'a dataset slug'),
            version: z.string().regex(/^\d{1,6}(\.\d{1,6}){1,2}$/u, 'a version, like 1.0'),
          })
          .strict(),
      )
      .max(32)
      .default([]),
  })
  .strict();
export type LaunchRequest = z.infer<typeof launchRequestSchema>;

/** The same version asked for twice is one mount; said plainly rather than silently merged. */
export function refuseDuplicateMounts(datasets: readonly { slug: string; version: string }[]) {
  const seen = new Set<string>();
  for (const { slug, version } of datasets) {
    const key = `${slug}/${version}`;
    if (seen.has(key)) {
      return `${slug} ${version} is listed twice`;
    }
    seen.add(key);
  }
  return null;
}
