import { describe, expect, it } from 'vitest';
import { isVersionEditable, refuseTransition, VERSION_STATUSES } from './version-status.js';

describe('version status', () => {
  it('lets only drafts change', () => {
    expect(VERSION_STATUSES.filter(isVersionEditable)).toEqual(['draft']);
  });

  it('publishes drafts and retires published versions, and says why not otherwise', () => {
    expect(refuseTransition('draft', 'publish')).toBeNull();
    expect(refuseTransition('published', 'retire')).toBeNull();
    expect(refuseTransition('published', 'publish')).toBe('this version is published already');
    expect(refuseTransition('retired', 'publish')).toBe(
      'a retired version cannot be published again',
    );
    expect(refuseTransition('draft', 'retire')).toBe(
      'a draft is not published, so it cannot be retired; delete it instead',
    );
    expect(refuseTransition('retired', 'retire')).toBe('this version is retired already');
  });
});
