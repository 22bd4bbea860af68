/**
 * The closed list of permissions. Every HTTP route declares exactly one of these; the server refuses
 * to start when a route declares none (deny by default). `public` is the only permission an
 * anonymous caller holds.
 */
export const PERMISSIONS = ['public', 'audit.read', 'audit.verify'] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['researcher', 'curator', 'reviewer', 'admin', 'partner'] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do. `admin` holds every permission. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  researcher: ['public'],
  curator: ['public'],
  reviewer: ['public', 'audit.read'],
  partner: ['public'],
  admin: PERMISSIONS,
};

/** Who is calling. Until the identity issue lands, every caller is anonymous. */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; roles: readonly Role[] }
  | { kind: 'system'; name: string };

/** Is `value` one of the closed list of permissions? */
export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
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
    case 'user':
      return principal.roles.some((role) => ROLE_PERMISSIONS[role].includes(permission));
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
