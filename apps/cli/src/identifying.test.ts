import { describe, expect, it } from 'vitest';
import { isIdentifyingName, maskValue } from './identifying.js';

describe('isIdentifyingName', () => {
  it('flags names, record numbers, contact details and dates of birth, however they are written', () => {
    for (const name of [
      'name',
      'patient_name',
      'PatientName',
      'first-name',
      'Surname',
      'mrn',
      'MRN',
      'patient_mrn',
      'ssn',
      'phone',
      'telephone_number',
      'mobilePhone',
      'email',
      'EmailAddress',
      'home_address',
      'dob',
      'DOB',
      'date_of_birth',
      'birthDate',
      'zip',
    ]) {
      expect(isIdentifyingName(name), name).toBe(true);
    }
  });

  it('leaves pseudonyms, measurements and words that merely contain a flagged word alone', () => {
    for (const name of [
      'patient_ngsci_id',
      'ecg_id',
      'age',
      'sex',
      'heart_rate',
      'rename_count',
      'surnamed',
      'mrna_level',
      'dobutamine_dose',
      'zipper',
    ]) {
      expect(isIdentifyingName(name), name).toBe(false);
    }
  });
});

describe('maskValue', () => {
  it('keeps the first letter or digit and the punctuation, and hides the rest', () => {
    expect(maskValue('Jane Doe')).toBe('J*** ***');
    expect(maskValue('1984-02-03')).toBe('1***-**-**');
    expect(maskValue('jane.doe@example.org')).toBe('j***.***@*******.***');
    expect(maskValue('+44 20 7946 0958')).toBe('+4* ** **** ****');
    expect(maskValue('Zoë Ångström')).toBe('Z** ********');
    expect(maskValue('')).toBe('');
  });
});
