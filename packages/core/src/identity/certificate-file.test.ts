import { describe, expect, it } from 'vitest';
import {
  bareMediaType,
  isCertificateMediaType,
  sanitizeFileName,
  sniffCertificateType,
} from './certificate-file.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('certificate files', () => {
  it('recognises PDF, PNG and JPEG by their first bytes', () => {
    expect(sniffCertificateType(bytes('%PDF-1.7\n%âãÏÓ'))).toBe('application/pdf');
    expect(
      sniffCertificateType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])),
    ).toBe('image/png');
    expect(sniffCertificateType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe(
      'image/jpeg',
    );
  });

  it('refuses anything else, however it is named, and a head too short to tell', () => {
    expect(sniffCertificateType(bytes('<html><script>alert(1)</script>'))).toBeNull();
    expect(sniffCertificateType(bytes('%PD'))).toBeNull();
    expect(sniffCertificateType(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBeNull();
    expect(sniffCertificateType(new Uint8Array([]))).toBeNull();
  });

  it('reads the bare media type of a Content-Type header', () => {
    expect(bareMediaType('Application/PDF; name=x')).toBe('application/pdf');
    expect(bareMediaType(undefined)).toBe('');
    expect(isCertificateMediaType('image/png')).toBe(true);
    expect(isCertificateMediaType('image/svg+xml')).toBe(false);
    expect(isCertificateMediaType('toString')).toBe(false);
  });

  it('keeps a file name safe to show and to send in a header', () => {
    expect(sanitizeFileName('CITI certificate (2025).pdf', 'application/pdf')).toBe(
      'CITI certificate (2025).pdf',
    );
    expect(sanitizeFileName('C:\\Users\\ada\\scan.PNG', 'image/png')).toBe('scan.png');
    expect(sanitizeFileName('../../etc/passwd', 'application/pdf')).toBe('passwd.pdf');
    expect(sanitizeFileName('a"b\r\nc;d.pdf', 'application/pdf')).toBe('a_b__c_d.pdf');
    expect(sanitizeFileName('évaluation.jpeg', 'image/jpeg')).toBe('e_valuation.jpg');
    expect(sanitizeFileName('.htaccess', 'application/pdf')).toBe('htaccess.pdf');
    expect(sanitizeFileName('', 'image/png')).toBe('certificate.png');
    expect(sanitizeFileName('...', 'image/png')).toBe('certificate.png');
    // The name follows the real type, not the one it claims.
    expect(sanitizeFileName('report.html', 'application/pdf')).toBe('report.pdf');
    expect(sanitizeFileName('x'.repeat(300), 'application/pdf')).toHaveLength(100);
  });
});
