import type { AccessTier } from '../catalog/dataset.js';
import type { VersionStatus } from '../catalog/version-status.js';
import { compareVersions, parseVersion } from '../catalog/version.js';

/**
 * A project's access to datasets, per dataset AND version. An open-tier version is `attached` at
 * once; an approval-tier one is `requested` and a reviewer answers with a reason (`attached` or
 * `refused`). Archiving a project `withdraws` what is still requested. A newer published version
 * is offered, never forced: the project keeps what it has until a member takes the new one.
 */
export const ACCESS_STATUSES = ['attached', 'requested', 'refused', 'withdrawn'] as const;
export type AccessStatus = (typeof ACCESS_STATUSES)[number];

/** A reviewer's answer to an access request. */
export const ACCESS_DECISIONS = ['approve', 'refuse'] as const;
export type AccessDecision = (typeof ACCESS_DECISIONS)[number];

/** The status a new request starts in, from the dataset's tier. */
export function initialAccessStatus(tier: AccessTier): AccessStatus {
  switch (tier) {
    case 'open':
      return 'attached';
    case 'approval':
      return 'requested';
    default:
      return tier satisfies never;
  }
}

/** The status a decision leads to. */
export function decidedAccessStatus(decision: AccessDecision): AccessStatus {
  switch (decision) {
    case 'approve':
      return 'attached';
    case 'refuse':
      return 'refused';
    default:
      return decision satisfies never;
  }
}

/**
 * Why a version in `status` cannot be attached, in words, or null when it can. Drafts are not
 * the caller's to know of, so the server answers them as missing before asking this.
 */
export function refuseVersionForAccess(
  slug: string,
  version: string,
  status: VersionStatus,
  latest: string | null,
): string | null {
  switch (status) {
    case 'published':
      return null;
    case 'retired':
      return `version ${version} of ${slug} is retired and can no longer be attached${latest === null ? '' : `; the current version is ${latest}`}`;
    case 'draft':
      return `${slug} has no published version ${version}`;
    default:
      return status satisfies never;
  }
}

/**
 * Does this project hold (or wait for) the data, so that a newer version is worth offering? Refused
 * and withdrawn requests hold nothing.
 */
export function holdsAccess(status: AccessStatus): boolean {
  switch (status) {
    case 'attached':
    case 'requested':
      return true;
    case 'refused':
    case 'withdrawn':
      return false;
    default:
      return status satisfies never;
  }
}

/**
 * The published versions newer than every version a project holds of a dataset, newest first:
 * what it is offered. Version numbers that do not parse are ignored.
 */
export function offeredVersions(held: readonly string[], published: readonly string[]): string[] {
  const newestHeld = held
    .map(parseVersion)
    .filter((v) => v !== null)
    .reduce<ReturnType<typeof parseVersion>>(
      (best, v) => (best === null || compareVersions(v, best) > 0 ? v : best),
      null,
    );
  if (newestHeld === null) {
    return [];
  }
  return published
    .map((text) => ({ text, version: parseVersion(text) }))
    .filter(
      (p): p is { text: string; version: NonNullable<typeof p.version> } =>
        p.version !== null && compareVersions(p.version, newestHeld) > 0,
    )
    .sort((a, b) => compareVersions(b.version, a.version))
    .map((p) => p.text);
}
