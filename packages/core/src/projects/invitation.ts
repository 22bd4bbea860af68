/**
 * Invitations to a project: sent by email with a role, by a link that works once and expires. The
 * link's secret is stored hashed (like every secret handed out, see identity/secrets.ts). An
 * invitee who has no account registers with the invited address and is admitted first; accepting
 * needs an admitted person who accepted the current terms, signed in with the invited address.
 */

/** How long an invitation link works. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Where an invitation stands. */
export const INVITATION_STATES = ['pending', 'accepted', 'expired', 'revoked'] as const;
export type InvitationState = (typeof INVITATION_STATES)[number];

/** An invitation as the rules need it. */
export interface InvitationFacts {
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
}

/**
 * An email address as invitations compare them: trimmed, lower case. (Addresses are unique
 * whatever their case, as the users table's index on lower(email) has them.)
 */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The state of an invitation at `now`. */
export function invitationState(invitation: InvitationFacts, now: Date): InvitationState {
  if (invitation.acceptedAt !== null) {
    return 'accepted';
  }
  if (invitation.revokedAt !== null) {
    return 'revoked';
  }
  return invitation.expiresAt.getTime() <= now.getTime() ? 'expired' : 'pending';
}

/** Why the invitation cannot be accepted at `now`, in words for the invitee, or null when it can. */
export function refuseAcceptance(invitation: InvitationFacts, now: Date): string | null {
  const state = invitationState(invitation, now);
  switch (state) {
    case 'pending':
      return null;
    case 'accepted':
      return 'this invitation link was used already; each link works once';
    case 'expired':
      return 'this invitation link has expired; ask an owner of the project to invite you again';
    case 'revoked':
      return 'this invitation was withdrawn by an owner of the project';
    default:
      return state satisfies never;
  }
}
