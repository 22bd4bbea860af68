import { describe, expect, it } from 'vitest';
import {
  initialAccessStatus,
  decidedAccessStatus,
  holdsAccess,
  offeredVersions,
  refuseVersionForAccess,
} from './dataset-access.js';
import { invitationState, normaliseEmail, refuseAcceptance } from './invitation.js';
import { refuseOwnerless, type MemberFacts } from './ownership.js';
import { MEMBER_ROLES, mayAct, PROJECT_ACTIONS, refuseAction } from './project-actions.js';
import { isProjectOpen, newProjectSchema, projectChangesSchema } from './project.js';

const PURPOSE = 'Whether ECG morphology predicts sudden cardiac arrest within a year.';

describe('projects: the model', () => {
  it('takes a title, a purpose that says something, and each dataset version once', () => {
    expect(newProjectSchema.parse({ title: ' Arrest ', purpose: PURPOSE })).toEqual({
      title: 'Arrest',
      purpose: PURPOSE,
      datasets: [],
    });
    expect(newProjectSchema.safeParse({ title: 'A', purpose: 'too short' }).success).toBe(false);
    expect(newProjectSchema.safeParse({ title: 'A\nB', purpose: PURPOSE }).success).toBe(false);
    const twice = newProjectSchema.safeParse({
      title: 'A',
      purpose: PURPOSE,
      datasets: [
        { slug: 'demo-arrest-ecg', version: '1.0' },
        { slug: 'demo-arrest-ecg', version: '1.0' },
      ],
    });
    expect(twice.success).toBe(false);
    expect(
      newProjectSchema.safeParse({
        title: 'A',
        purpose: PURPOSE,
        datasets: [{ slug: 'demo-arrest-ecg', version: 'latest' }],
      }).success,
    ).toBe(false);
    expect(projectChangesSchema.safeParse({}).success).toBe(false);
    expect(projectChangesSchema.parse({ title: 'B' })).toEqual({ title: 'B' });
    expect(isProjectOpen('active')).toBe(true);
    expect(isProjectOpen('archived')).toBe(false);
  });

  it('lets owners do everything, editors work, viewers only look (and leave)', () => {
    for (const action of Object.keys(PROJECT_ACTIONS) as (keyof typeof PROJECT_ACTIONS)[]) {
      expect(mayAct('owner', action)).toBe(true);
    }
    expect(mayAct('editor', 'project.add_dataset')).toBe(true);
    expect(mayAct('editor', 'project.launch_instance')).toBe(true);
    expect(mayAct('editor', 'project.spend')).toBe(true);
    expect(mayAct('editor', 'project.invite')).toBe(false);
    expect(mayAct('editor', 'project.archive')).toBe(false);
    const viewerMay = Object.keys(PROJECT_ACTIONS).filter((a) =>
      mayAct('viewer', a as keyof typeof PROJECT_ACTIONS),
    );
    expect(viewerMay.sort()).toEqual(['project.leave', 'project.read']);
    expect(refuseAction('owner', 'project.archive')).toBeNull();
    expect(refuseAction('viewer', 'project.update')).toBe(
      'a viewer of this project may not update; only owners and editors may',
    );
    expect(refuseAction('editor', 'project.remove_member')).toBe(
      'an editor of this project may not remove member; only owners may',
    );
    expect(MEMBER_ROLES).toEqual(['owner', 'editor', 'viewer']);
  });

  it('sends invitations that work once, until they expire, to an address in any case', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    const fresh = {
      expiresAt: new Date('2026-03-08T12:00:00Z'),
      acceptedAt: null,
      revokedAt: null,
    };
    expect(invitationState(fresh, now)).toBe('pending');
    expect(refuseAcceptance(fresh, now)).toBeNull();
    expect(refuseAcceptance(fresh, new Date('2026-03-08T12:00:00Z'))).toMatch(/expired/);
    expect(refuseAcceptance({ ...fresh, acceptedAt: now }, now)).toMatch(/used already/);
    expect(invitationState({ ...fresh, revokedAt: now }, now)).toBe('revoked');
    expect(normaliseEmail('  Grace.Hopper@Example.ORG ')).toBe('grace.hopper@example.org');
  });

  it('always keeps an owner who can act', () => {
    const members: MemberFacts[] = [
      { userId: 'a', role: 'owner', active: true },
      { userId: 'b', role: 'editor', active: true },
      { userId: 'c', role: 'owner', active: false },
    ];
    expect(refuseOwnerless(members, { kind: 'remove', userId: 'a' })).toMatch(/last owner/);
    expect(refuseOwnerless(members, { kind: 'leave', userId: 'a' })).toMatch(/transfer ownership/);
    expect(refuseOwnerless(members, { kind: 'set_role', userId: 'a', role: 'viewer' })).toMatch(
      /last owner/,
    );
    expect(refuseOwnerless(members, { kind: 'remove', userId: 'b' })).toBeNull();
    expect(refuseOwnerless(members, { kind: 'remove', userId: 'c' })).toBeNull();
    const two = [...members, { userId: 'd', role: 'owner' as const, active: true }];
    expect(refuseOwnerless(two, { kind: 'leave', userId: 'a' })).toBeNull();
  });

  it('attaches open versions, asks for approval ones, refuses retired ones, offers newer ones', () => {
    expect(initialAccessStatus('open')).toBe('attached');
    expect(initialAccessStatus('approval')).toBe('requested');
    expect(decidedAccessStatus('approve')).toBe('attached');
    expect(decidedAccessStatus('refuse')).toBe('refused');
    expect(refuseVersionForAccess('demo-knee-xray', '1.0', 'published', '1.1')).toBeNull();
    expect(refuseVersionForAccess('demo-knee-xray', '1.0', 'retired', '1.1')).toBe(
      'version 1.0 of demo-knee-xray is retired and can no longer be attached; the current version is 1.1',
    );
    expect(holdsAccess('requested')).toBe(true);
    expect(holdsAccess('refused')).toBe(false);
    expect(offeredVersions(['1.0'], ['1.0', '2.0', '1.1'])).toEqual(['2.0', '1.1']);
    expect(offeredVersions(['1.0', '2.0'], ['1.0', '2.0', '1.1'])).toEqual([]);
    expect(offeredVersions([], ['1.0'])).toEqual([]);
    expect(offeredVersions(['1.1'], ['1.1', '1.1.1', 'junk'])).toEqual(['1.1.1']);
  });
});
