import { describe, expect, it } from 'vitest';
import { type PhiKind } from './phi-finding.js';
import { findPhiInText } from './text-detectors.js';

/** The identifiers of `text`, as [kind, the text found]. */
function found(text: string): [PhiKind, string][] {
  return findPhiInText(text).map((match) => [match.kind, text.slice(match.start, match.end)]);
}

describe('findPhiInText', () => {
  it.each<[string, PhiKind, string]>([
    ['write to grace.okafor@example.org today', 'email', 'grace.okafor@example.org'],
    ['see https://portal.example.org/p/123?x=1.', 'url', 'https://portal.example.org/p/123?x=1'],
    ['www.example.com/records', 'url', 'www.example.com/records'],
    ['login from 192.168.10.24 at night', 'ip', '192.168.10.24'],
    ['host 2001:db8:85a3:0:0:8a2e:370:7334', 'ip', '2001:db8:85a3:0:0:8a2e:370:7334'],
    ['host fe80::1ff:fe23:4567:890a up', 'ip', 'fe80::1ff:fe23:4567:890a'],
    ['call (617) 555-0142 after 5', 'phone', '(617) 555-0142'],
    ['call 617-555-0142', 'phone', '617-555-0142'],
    ['call 617.555.0142', 'phone', '617.555.0142'],
    ['call +1 617 555 0142', 'phone', '+1 617 555 0142'],
    ['daughter in London +44 20 7946 0958', 'phone', '+44 20 7946 0958'],
    ['SSN 123-45-6789 on file', 'ssn', '123-45-6789'],
    [
      'lives at 1200 Commonwealth Ave, Apt 4B with wife',
      'address',
      '1200 Commonwealth Ave, Apt 4B',
    ],
    ['lives at 12 N Main St.', 'address', '12 N Main St.'],
    ['mail to PO Box 4410', 'address', 'PO Box 4410'],
    ['Boston MA 02139-4307', 'address', 'MA 02139-4307'],
    ['zip 02139-4307', 'address', '02139-4307'],
    ['DOB: 03/14/1952, presented with', 'birth-date', '03/14/1952'],
    ['date of birth 1952-03-14', 'birth-date', '1952-03-14'],
    ['born on March 14, 1952 in Taipei', 'birth-date', 'March 14, 1952'],
    ['MRN: 00482913 admitted', 'mrn', '00482913'],
    ['accession # ECG230004821', 'mrn', 'ECG230004821'],
    ['hospital no H4829133', 'mrn', 'H4829133'],
    ['old chart 48291337 reviewed', 'mrn', '48291337'],
    ['seen by Dr. Okafor in clinic', 'name', 'Okafor'],
    ['seen by Dr Zhou Wei', 'name', 'Zhou Wei'],
    ['Mrs Nakamura called', 'name', 'Nakamura'],
    ['ordered by Chen, Wei MD', 'name', 'Chen, Wei'],
    ["O'Brien, Siew Lan", 'name', "O'Brien, Siew Lan"],
    ['patient Grace Okafor, 67', 'name', 'Grace Okafor'],
    ['Maria J. García reports', 'name', 'Maria J. García'],
    ['signed Jane Roe MD', 'name', 'Jane Roe'],
  ])('finds in %j the %s %j', (text, kind, identifier) => {
    expect(found(text)).toContainEqual([kind, identifier]);
  });

  it.each([
    // Clinical look-alikes: codes, doses, measures, dates that are not of birth.
    'Dx I21.4 NSTEMI, E11.9 type 2 diabetes, Z95.1',
    'metoprolol 25 mg PO BID, heparin 5000 units SC q8h',
    'penicillin G benzathine 2400000 units IM once',
    'platelets 250 x10^9/L, troponin 1234567 ng/L repeat',
    'SNOMED 22298006 myocardial infarction, LOINC 2160-0',
    'ECG on 2023-04-05 showed sinus rhythm at 72 bpm, QTc 452 ms',
    'follow-up 04/05/2023 in Cardiology clinic, Ward 7B',
    'SSN-like but unassigned: 000-12-3456, 666-12-3456, 912-34-5678',
    'phone-like but not NANP: 123-456-7890, version 1.2.3',
    'Grace period of 30 days; White blood cells normal; Long QT',
    'Patient walked 1200 meters on the treadmill',
    'The Mayo Clinic guideline; ACC/AHA 2022 class IIa',
  ])('finds nothing in %j', (text) => {
    expect(found(text)).toEqual([]);
  });

  it('resolves overlaps by the more specific kind', () => {
    expect(found('profile http://example.org/u/6175550142 and 617-555-0142')).toEqual([
      ['url', 'http://example.org/u/6175550142'],
      ['phone', '617-555-0142'],
    ]);
  });

  it('runs in linear time on input built to make patterns backtrack', () => {
    const hostile = [
      '1 '.repeat(20_000),
      'A'.repeat(40_000),
      'a.'.repeat(20_000) + '@',
      '+1'.repeat(20_000),
      '12 Main '.repeat(5_000),
      '1:'.repeat(20_000),
      'Dr. '.repeat(10_000),
    ];
    for (const text of hostile) {
      // Counted in matches rather than timed: a regex that backtracks would not return at all
      // within the test timeout on 40,000 characters.
      expect(findPhiInText(text).length).toBeLessThan(text.length);
    }
  });
});
