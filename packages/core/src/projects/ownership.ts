import type { MemberRole } from './project-actions.js';

/**
 * A project always keeps an owner: removing, demoting or letting leave its last owner is refused
 * (transfer ownership first). Suspended owners do not count: they cannot act.
 */

/** A member as the rule needs them. */
export interface MemberFacts {
  userId: string;
  role: MemberRole;
  /** False while their account is suspended. */
  active: boolean;
}

/** A change to the members. */
export type MembershipChange =
  | { kind: 'remove'; userId: string }
  | { kind: 'leave'; userId: string }
  | { kind: 'set_role'; userId: string; role: MemberRole };

/** The members after `change`. */
export function applyMembershipChange(
  members: readonly MemberFacts[],
  change: MembershipChange,
): MemberFacts[] {
  switch (change.kind) {
    case 'remove':
    case 'leave':
      return members.filter((m) => m.userId !== change.userId);
    case 'set_role':
      return members.map((m) => (m.userId === change.userId ? { ...m, role: change.role } : m));
    default:
      return change satisfies never;
  }
}

/** Does the project have an owner who can act? */
export function hasActiveOwner(members: readonly MemberFacts[]): boolean {
  return members.some((m) => m.role === 'owner' && m.active);
}

/**
 * Why `change` cannot be made because it would leave no owner, in words, or null when it may be.
 * A project whose only owners are suspended may still lose them (it has no owner to keep).
 */
export function refuseOwnerless(
  members: readonly MemberFacts[],
  change: MembershipChange,
): string | null {
  if (!hasActiveOwner(members) || hasActiveOwner(applyMembershipChange(members, change))) {
    return null;
  }
  switch (change.kind) {
    case 'remove':
      return 'this is the last owner of the project; make another member owner first (a project always keeps an owner)';
    case 'leave':
      return 'you are the last owner of the project; transfer ownership to another member before you leave';
    case 'set_role':
      return 'this is the last owner of the project; make another member owner before changing this role (a project always keeps an owner)';
    default:
      return change satisfies never;
  }
}
