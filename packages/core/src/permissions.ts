/**
 * The closed list of permissions. Every HTTP route declares exactly one of these; the server refuses
 * to start when a route declares none (deny by default). `public` is the only permission an
 * anonymous caller holds; `account` (acting on one's own account: sessions, tokens, terms, second
 * factor) is held by every signed-in person, admitted or not.
 */
export const PERMISSIONS = [
  'public',
  'account',
  'access.review',
  'admission.review',
  'audit.read',
  'audit.verify',
  'catalog.curate',
  'catalog.manage',
  'catalog.report',
  'compute.manage',
  'data.read',
  'outbox.read',
  'project.work',
  'release.review',
  'terms.manage',
  'user.manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['researcher', 'curator', 'reviewer', 'admin', 'partner'] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do. `admin` holds every permission. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  researcher: ['public', 'catalog.report', 'data.read', 'project.work'],
  curator: ['public', 'catalog.report', 'data.read', 'catalog.curate', 'project.work'],
  reviewer: [
    'public',
    'access.review',
    'admission.review',
    'audit.read',
    'catalog.report',
    'data.read',
    'project.work',
    'release.review',
  ],
  partner: ['public', 'access.review', 'catalog.report'],
  admin: PERMISSIONS,
};

/**
 * Permissions that touch data: held only while the person has accepted the current version of the
 * terms (the data use agreement). A new version withholds them until it is accepted. Working in
 * projects (`project.work`: creating, joining, belonging to one) is among them: only admitted
 * people with the current terms accepted are members.
 */
export const TERMS_GATED_PERMISSIONS: readonly Permission[] = ['data.read', 'project.work'];

/** Roles that act only from a session signed in with a second factor (TOTP or a recovery code). */
export const SECOND_FACTOR_ROLES: readonly Role[] = ['reviewer', 'admin'];

/**
 * The roles a person acts with: none until admitted (they may see their own standing, nothing
 * more), and none of SECOND_FACTOR_ROLES unless the caller proved a second factor.
 */
export function effectiveRoles(
  user: { status: string; roles: readonly string[] },
  secondFactor: boolean,
): Role[] {
  if (user.status !== 'admitted') {
    return [];
  }
  return user.roles.filter(
    (role): role is Role => isRole(role) && (secondFactor || !SECOND_FACTOR_ROLES.includes(role)),
  );
}

/**
 * Who is calling. A user acting through an API token carries the token's `scope`: the permissions
 * it may use, which never exceed what the user's roles give (both are checked). `termsAccepted`
 * says whether they accepted the current terms; without it, TERMS_GATED_PERMISSIONS are withheld.
 */
export type Principal =
  | { kind: 'anonymous' }
  | {
      kind: 'user';
      userId: string;
      roles: readonly Role[];
      scope?: readonly Permission[];
      termsAccepted?: boolean;
    }
  | { kind: 'system'; name: string };

/** Every permission `roles` give, `account` included. */
export function permissionsOf(roles: readonly Role[]): Permission[] {
  return PERMISSIONS.filter(
    (p) => p === 'public' || p === 'account' || roles.some((r) => ROLE_PERMISSIONS[r].includes(p)),
  );
}

/** Is `value` one of the roles? */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Is `value` one of the closed list of permissions? */
export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}

/**
 * Would `principal` hold `permission` once they accept the current terms? Lets a refusal say why.
 */
export function blockedByTerms(principal: Principal, permission: Permission): boolean {
  return (
    principal.kind === 'user' &&
    principal.termsAccepted !== true &&
    TERMS_GATED_PERMISSIONS.includes(permission) &&
    hasPermission({ ...principal, termsAccepted: true }, permission)
  );
}

/** Does `principal` hold `permission`? Pure: no I/O, no exceptions. */
export function hasPermission(principal: Principal, permission: Permission): boolean {
  if (permission === 'public') {
    return true;
  }
  switch (principal.kind) {
    case 'anonymous':
      return false;
    case 'system':
      return true;
    case 'user': {
      const held =
        permission === 'account' ||
        principal.roles.some((role) => ROLE_PERMISSIONS[role].includes(permission));
      return (
        held &&
        (principal.scope === undefined || principal.scope.includes(permission)) &&
        (principal.termsAccepted === true || !TERMS_GATED_PERMISSIONS.includes(permission))
      );
    }
    default:
      return principal satisfies never;
  }
}

/** The audit `actor` string for a principal. */
export function actorOf(principal: Principal): string {
  switch (principal.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'system':
      return `system:${principal.name}`;
    case 'user':
      return `user:${principal.userId}`;
    default:
      return principal satisfies never;
  }
}
