import { describe, expect, it } from 'vitest';
import { closestName } from './closest-name.js';

describe('closestName', () => {
  it('finds the name a slip was for: case, or a letter or two off', () => {
    const header = ['mrn', 'exam_date', 'birth_date', 'referring_physician'];
    expect(closestName('exam_dat', header)).toBe('exam_date');
    expect(closestName('Birth_Date', header)).toBe('birth_date');
    expect(closestName('exam_date ', header)).toBe('exam_date');
    expect(closestName('flies', ['files', 'dates', 'drop'])).toBe('files');
  });

  it('says nothing when no name is close, a short one is far, or several are as close', () => {
    expect(closestName('physician', ['mrn', 'referring_physician'])).toBeNull();
    expect(closestName('id', ['mrn'])).toBeNull();
    expect(closestName('date_1', ['date_2', 'date_3'])).toBeNull();
    expect(closestName('MRN', ['mrn', 'Mrn'])).toBeNull();
  });
});
