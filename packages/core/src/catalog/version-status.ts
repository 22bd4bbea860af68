/**
 * The life of a dataset version: a `draft` is edited by curators and seen by them only; once
 * `published` it never changes again (its tables, dictionary and documentation are what
 * researchers cite); a published version may be `retired` (no longer offered, still cited).
 */
export const VERSION_STATUSES = ['draft', 'published', 'retired'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** Moves a version may make, by name. */
export const VERSION_TRANSITIONS = {
  publish: { from: 'draft', to: 'published' },
  retire: { from: 'published', to: 'retired' },
} as const satisfies Record<string, { from: VersionStatus; to: VersionStatus }>;
export type VersionTransition = keyof typeof VERSION_TRANSITIONS;

/** May the tables, dictionary or documentation of a version in this status be edited? */
export function isVersionEditable(status: VersionStatus): boolean {
  switch (status) {
    case 'draft':
      return true;
    case 'published':
    case 'retired':
      return false;
    default:
      return status satisfies never;
  }
}

/**
 * Why `transition` cannot be made from `status`, in words for the curator, or null when it can.
 * (Editing is checked with `isVersionEditable`; a refusal says "published versions never change".)
 */
export function refuseTransition(
  status: VersionStatus,
  transition: VersionTransition,
): string | null {
  const { from } = VERSION_TRANSITIONS[transition];
  if (status === from) {
    return null;
  }
  switch (transition) {
    case 'publish':
      return status === 'published'
        ? 'this version is published already'
        : 'a retired version cannot be published again';
    case 'retire':
      return status === 'draft'
        ? 'a draft is not published, so it cannot be retired; delete it instead'
        : 'this version is retired already';
    default:
      return transition satisfies never;
  }
}
