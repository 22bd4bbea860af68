import { describe, expect, it } from 'vitest';
import {
  actorOf,
  blockedByTerms,
  effectiveRoles,
  hasPermission,
  isPermission,
  PERMISSIONS,
  permissionsOf,
  ROLES,
} from './permissions.js';

describe('permissions', () => {
  it('lets anyone use public routes and nothing else while anonymous', () => {
    expect(hasPermission({ kind: 'anonymous' }, 'public')).toBe(true);
    for (const permission of PERMISSIONS.filter((p) => p !== 'public')) {
      expect(hasPermission({ kind: 'anonymous' }, permission)).toBe(false);
    }
  });

  it('gives admins every permission and others only their roles', () => {
    for (const permission of PERMISSIONS) {
      expect(
        hasPermission(
          { kind: 'user', userId: 'u', roles: ['admin'], termsAccepted: true },
          permission,
        ),
      ).toBe(true);
    }
    expect(hasPermission({ kind: 'user', userId: 'u', roles: ['researcher'] }, 'audit.read')).toBe(
      false,
    );
    expect(
      hasPermission({ kind: 'user', userId: 'u', roles: ['researcher', 'reviewer'] }, 'audit.read'),
    ).toBe(true);
    expect(hasPermission({ kind: 'user', userId: 'u', roles: [] }, 'audit.read')).toBe(false);
  });

  it('gives every signed-in person their own account, and nothing more without roles', () => {
    const pending = { kind: 'user', userId: 'u', roles: [] } as const;
    expect(hasPermission(pending, 'account')).toBe(true);
    expect(hasPermission(pending, 'audit.read')).toBe(false);
    expect(hasPermission({ kind: 'anonymous' }, 'account')).toBe(false);
  });

  it('limits a token to its scope, and the scope to what the roles give', () => {
    const token = {
      kind: 'user',
      userId: 'u',
      roles: ['reviewer'],
      scope: ['audit.read', 'audit.verify'],
    } as const;
    expect(hasPermission(token, 'audit.read')).toBe(true);
    // In scope, but reviewers cannot verify: the roles still decide.
    expect(hasPermission(token, 'audit.verify')).toBe(false);
    // Held by the roles, but out of scope.
    expect(hasPermission({ ...token, scope: ['account'] }, 'audit.read')).toBe(false);
    expect(permissionsOf(['reviewer'])).toEqual([
      'public',
      'account',
      'access.review',
      'admission.review',
      'audit.read',
      'catalog.report',
      'data.read',
      'project.work',
      'release.review',
    ]);
    expect(permissionsOf([])).toEqual(['public', 'account']);
  });

  it('withholds data until the current terms are accepted, and says so', () => {
    const researcher = { kind: 'user', userId: 'u', roles: ['researcher'] } as const;
    expect(hasPermission(researcher, 'data.read')).toBe(false);
    expect(hasPermission({ ...researcher, termsAccepted: false }, 'data.read')).toBe(false);
    expect(hasPermission({ ...researcher, termsAccepted: true }, 'data.read')).toBe(true);
    expect(blockedByTerms(researcher, 'data.read')).toBe(true);
    // Terms never give what the roles do not: a partner, or a token scoped without data.
    expect(blockedByTerms({ ...researcher, roles: ['partner'] }, 'data.read')).toBe(false);
    expect(blockedByTerms({ ...researcher, scope: ['account'] }, 'data.read')).toBe(false);
    expect(blockedByTerms({ ...researcher, termsAccepted: true }, 'data.read')).toBe(false);
    // Terms do not gate one's own account.
    expect(hasPermission(researcher, 'account')).toBe(true);
  });

  it('gives roles only to admitted people, and reviewer and admin only with a second factor', () => {
    const admin = { status: 'admitted', roles: ['admin', 'curator', 'bogus'] };
    expect(effectiveRoles(admin, true)).toEqual(['admin', 'curator']);
    expect(effectiveRoles(admin, false)).toEqual(['curator']);
    expect(effectiveRoles({ status: 'admitted', roles: ['reviewer'] }, false)).toEqual([]);
    for (const status of ['unverified', 'pending', 'rejected', 'suspended']) {
      expect(effectiveRoles({ ...admin, status }, true)).toEqual([]);
    }
  });

  it('recognises only the closed list', () => {
    expect(isPermission('audit.read')).toBe(true);
    expect(isPermission('audit.*')).toBe(false);
    expect(isPermission(undefined)).toBe(false);
    expect(ROLES).toContain('admin');
  });

  it('names actors for the audit log', () => {
    expect(actorOf({ kind: 'anonymous' })).toBe('anonymous');
    expect(actorOf({ kind: 'user', userId: 'u_1', roles: [] })).toBe('user:u_1');
    expect(actorOf({ kind: 'system', name: 'sealer' })).toBe('system:sealer');
  });
});
