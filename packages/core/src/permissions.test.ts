import { describe, expect, it } from 'vitest';
import { actorOf, hasPermission, isPermission, PERMISSIONS, ROLES } from './permissions.js';

describe('permissions', () => {
  it('lets anyone use public routes and nothing else while anonymous', () => {
    expect(hasPermission({ kind: 'anonymous' }, 'public')).toBe(true);
    for (const permission of PERMISSIONS.filter((p) => p !== 'public')) {
      expect(hasPermission({ kind: 'anonymous' }, permission)).toBe(false);
    }
  });

  it('gives admins every permission and others only their roles', () => {
    for (const permission of PERMISSIONS) {
      expect(hasPermission({ kind: 'user', userId: 'u', roles: ['admin'] }, permission)).toBe(true);
    }
    expect(hasPermission({ kind: 'user', userId: 'u', roles: ['researcher'] }, 'audit.read')).toBe(
      false,
    );
    expect(
      hasPermission({ kind: 'user', userId: 'u', roles: ['researcher', 'reviewer'] }, 'audit.read'),
    ).toBe(true);
    expect(hasPermission({ kind: 'user', userId: 'u', roles: [] }, 'audit.read')).toBe(false);
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
