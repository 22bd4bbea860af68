import type { MemberRole } from '../projects/project-actions.js';
import { mayAct } from '../projects/project-actions.js';
import type { ReleaseLimits, ReleaseState } from './release.js';

/**
 * The rules of release requests, pure: how a request moves, who may decide, withdraw and download
 * it, and which archives may become one. The server asks these and nothing else.
 */

/** What happens to a request. */
export type ReleaseEvent = 'approve' | 'reject' | 'withdraw';

/** The state after `event`, or null when `state` does not move on it (only `pending` moves). */
export function nextReleaseState(state: ReleaseState, event: ReleaseEvent): ReleaseState | null {
  switch (state) {
    case 'pending':
      switch (event) {
        case 'approve':
          return 'approved';
        case 'reject':
          return 'rejected';
        case 'withdraw':
          return 'withdrawn';
        default:
          return event satisfies never;
      }
    case 'approved':
    case 'rejected':
    case 'withdrawn':
      return null;
    default:
      return state satisfies never;
  }
}

/** A request's facts that the rules read. */
export interface ReleaseFacts {
  state: ReleaseState;
  requestedBy: string;
}

/**
 * Who is looking: their id, their role in the request's project (null when not a member, or
 * suspended), and whether they review releases (`release.review`).
 */
export interface ReleaseViewer {
  userId: string;
  memberRole: MemberRole | null;
  isReviewer: boolean;
}

/**
 * A refusal, with the error code it is answered with: `forbidden` (never allowed to this person),
 * `conflict` (not in this state), `bad_request` (an archive that cannot be a request),
 * `payload_too_large` (past a limit).
 */
export interface ReleaseRefusal {
  code: 'forbidden' | 'conflict' | 'bad_request' | 'payload_too_large';
  message: string;
}

/** Does `viewer` see the request at all? Members of its project and reviewers; nobody else. */
export function maySeeRelease(viewer: ReleaseViewer): boolean {
  return viewer.memberRole !== null || viewer.isReviewer;
}

/** Why `viewer` may not decide the request, or null. Nobody decides their own. */
export function refuseDecision(facts: ReleaseFacts, viewer: ReleaseViewer): ReleaseRefusal | null {
  if (!viewer.isReviewer) {
    return { code: 'forbidden', message: 'only reviewers decide release requests' };
  }
  if (facts.requestedBy === viewer.userId) {
    return {
      code: 'forbidden',
      message: 'you made this request; another reviewer must decide it',
    };
  }
  return refuseUnlessPending(facts.state, 'decided');
}

/** Why `viewer` may not withdraw the request, or null: the requester or an owner, while pending. */
export function refuseWithdrawal(
  facts: ReleaseFacts,
  viewer: ReleaseViewer,
): ReleaseRefusal | null {
  if (facts.requestedBy !== viewer.userId && viewer.memberRole !== 'owner') {
    return {
      code: 'forbidden',
      message: "only the requester or one of the project's owners withdraws a request",
    };
  }
  return refuseUnlessPending(facts.state, 'withdrawn');
}

/** Why `viewer` may not download the request's files, or null: members, once approved. */
export function refuseDownload(facts: ReleaseFacts, viewer: ReleaseViewer): ReleaseRefusal | null {
  if (viewer.memberRole === null) {
    return {
      code: 'forbidden',
      message: "only the project's members download its released files",
    };
  }
  if (facts.state !== 'approved') {
    return {
      code: 'conflict',
      message: `this request is ${facts.state}; only approved files are downloaded`,
    };
  }
  return null;
}

/** Why a member with `role` may not request a release, or null (owners and editors may). */
export function refuseRequest(role: MemberRole): string | null {
  return mayAct(role, 'project.request_release')
    ? null
    : `a ${role} of this project may not request a release; only owners and editors may`;
}

/** What `viewer` may do with the request now, for the page to show its buttons. */
export function releaseAbilities(
  facts: ReleaseFacts,
  viewer: ReleaseViewer,
): { canDecide: boolean; canWithdraw: boolean; canDownload: boolean } {
  return {
    canDecide: refuseDecision(facts, viewer) === null,
    canWithdraw: refuseWithdrawal(facts, viewer) === null,
    canDownload: refuseDownload(facts, viewer) === null,
  };
}

function refuseUnlessPending(state: ReleaseState, what: string): ReleaseRefusal | null {
  return state === 'pending'
    ? null
    : { code: 'conflict', message: `this request is ${state}; only a pending one is ${what}` };
}

/** The longest file name, in characters (as most file systems allow). */
export const MAX_RELEASE_NAME_LENGTH = 255;

/**
 * Why `name` is not a plain file name a request may carry, or null: no folder (neither `/` nor
 * `\`), not `.` or `..`, no control characters, at most MAX_RELEASE_NAME_LENGTH characters. Names
 * are shown to reviewers and become the downloaded file's name, so they must be only a name.
 */
export function refuseReleaseFileName(name: string): string | null {
  if (name === '' || name.trim() === '') {
    return 'a file has no name';
  }
  if (name.includes('/') || name.includes('\\')) {
    return `"${name}" has a path; a request holds plain file names only`;
  }
  if (name === '.' || name === '..') {
    return `"${name}" is not a file name`;
  }
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/u.test(name)) {
    return 'a file name holds control characters';
  }
  if (Array.from(name).length > MAX_RELEASE_NAME_LENGTH) {
    return `a file name is at most ${MAX_RELEASE_NAME_LENGTH} characters`;
  }
  return null;
}

/**
 * Why these archive entries cannot be a request, or null: at least one file and at most
 * `maxFiles`, every name plain and unique, each file and all of them within the byte limits.
 * Checked on what the archive declares, before anything is read or stored.
 */
export function refuseReleaseEntries(
  entries: readonly { name: string; size: number }[],
  limits: ReleaseLimits,
): ReleaseRefusal | null {
  if (entries.length === 0) {
    return { code: 'bad_request', message: 'the archive holds no file' };
  }
  if (entries.length > limits.maxFiles) {
    return {
      code: 'payload_too_large',
      message: `the archive holds ${entries.length} files; a request holds at most ${limits.maxFiles}`,
    };
  }
  const seen = new Set<string>();
  let total = 0;
  for (const entry of entries) {
    const refusal = refuseReleaseFileName(entry.name);
    if (refusal !== null) {
      return { code: 'bad_request', message: refusal };
    }
    if (seen.has(entry.name)) {
      return { code: 'bad_request', message: `the archive holds "${entry.name}" twice` };
    }
    seen.add(entry.name);
    if (entry.size > limits.maxFileBytes) {
      return {
        code: 'payload_too_large',
        message: `"${entry.name}" is ${entry.size} bytes; a file is at most ${limits.maxFileBytes}`,
      };
    }
    total += entry.size;
  }
  if (total > limits.maxRequestBytes) {
    return {
      code: 'payload_too_large',
      message: `the files are ${total} bytes together; a request is at most ${limits.maxRequestBytes}`,
    };
  }
  return null;
}
