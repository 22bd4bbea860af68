/**
 * Who may do what inside a project. Every project route names one of PROJECT_ACTIONS, and the
 * server checks it against this one table (after membership: a non-member sees nothing at all).
 * Roles after the issue: an owner runs the project (members, ownership, archiving); an editor
 * works in it (datasets, instances, releases, spending the project's funds); a viewer sees the
 * project and its outputs.
 */

export const MEMBER_ROLES = ['owner', 'editor', 'viewer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

/** Is `value` a member role? */
export function isMemberRole(value: unknown): value is MemberRole {
  return typeof value === 'string' && (MEMBER_ROLES as readonly string[]).includes(value);
}

/** Every action inside a project, and the roles that may take it. */
export const PROJECT_ACTIONS = {
  /** See the project page: members, datasets and versions, activity. */
  'project.read': ['owner', 'editor', 'viewer'],
  /** Change the title or the research purpose. */
  'project.update': ['owner', 'editor'],
  /** Attach an open dataset version, or request an approval-tier one (an offered version too). */
  'project.add_dataset': ['owner', 'editor'],
  'project.invite': ['owner'],
  'project.revoke_invitation': ['owner'],
  'project.change_role': ['owner'],
  'project.remove_member': ['owner'],
  'project.transfer': ['owner'],
  'project.archive': ['owner'],
  /** Leave the project (the last owner cannot: see ownership.ts). */
  'project.leave': ['owner', 'editor', 'viewer'],
  /** Later work (instances, the airlock, billing) checks these. */
  'project.launch_instance': ['owner', 'editor'],
  'project.request_release': ['owner', 'editor'],
  'project.spend': ['owner', 'editor'],
} as const satisfies Record<string, readonly MemberRole[]>;

export type ProjectAction = keyof typeof PROJECT_ACTIONS;

/** May a member with `role` take `action`? Pure: the table above, nothing else. */
export function mayAct(role: MemberRole, action: ProjectAction): boolean {
  return (PROJECT_ACTIONS[action] as readonly MemberRole[]).includes(role);
}

/**
 * Why a member with `role` may not take `action`, in words for them, or null when they may.
 */
export function refuseAction(role: MemberRole, action: ProjectAction): string | null {
  if (mayAct(role, action)) {
    return null;
  }
  const allowed = PROJECT_ACTIONS[action].map((r) => `${r}s`).join(' and ');
  const what = action.replace(/^project\./u, '').replace(/_/gu, ' ');
  const article = role === 'viewer' ? 'a' : 'an';
  return `${article} ${role} of this project may not ${what}; only ${allowed} may`;
}
