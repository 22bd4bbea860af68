import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLanternClient, certificateFilePath } from '@lantern/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyThroughApi } from '../testing/applicants.js';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { createSignedInUser } from '../testing/users.js';

let server: TestServer;
let reviewer = '';

const MiB = 1024 * 1024;
const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
const PDF = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('IHDR fake image data'),
]);
const HTML = Buffer.from('<html><script>fetch("/api/v1/auth/tokens")</script></html>');

const upload = (
  cookie: string,
  body: Buffer | ReadableStream<Uint8Array>,
  contentType: string,
  query = `expiresOn=${inAYear}&name=CITI%20certificate.pdf`,
) =>
  fetch(`${server.url}/api/v1/admission/me/certificate-file?${query}`, {
    method: 'PUT',
    headers: { cookie, 'x-lantern-csrf': '1', 'content-type': contentType },
    body,
    // Needed for a stream body: the request is sent as it is read.
    duplex: 'half',
  });

const get = (path: string, cookie: string) =>
  fetch(`${server.url}${path}`, { headers: { cookie } });

/** Every stored object's file, so refused uploads can be seen to leave nothing behind. */
async function storedObjects(): Promise<string[]> {
  const root = join(server.ctx.config.dataDir, 'objects');
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  server = await startTestServer();
  reviewer = (
    await createSignedInUser(server, {
      email: 'rev@example.org',
      roles: ['reviewer'],
      password: 'granite steps toward the northern sea',
    })
  ).cookie;
});

afterAll(async () => {
  await server.close();
});

describe(`admission certificate files on ${TEST_DIALECT}`, () => {
  let ada = { id: '', cookie: '' };
  let bob = { id: '', cookie: '' };

  it('takes a PDF certificate with its expiry and shows it on the waiting page', async () => {
    ada = await applyThroughApi(server, 'ada@uni.example');
    bob = await applyThroughApi(server, 'bob@uni.example');
    const res = await upload(ada.cookie, PDF, 'application/pdf');
    expect(res.status).toBe(200);
    const info = await res.json();
    expect(info).toMatchObject({
      name: 'CITI certificate.pdf',
      mediaType: 'application/pdf',
      size: PDF.byteLength,
      expiresOn: inAYear,
    });
    const standing = await (await get('/api/v1/admission/me', ada.cookie)).json();
    expect(standing).toMatchObject({ evidence: null, certificateFile: info });
    const events = await server.auditEventsFor(res.headers.get('x-request-id') ?? '');
    expect(events).toMatchObject([
      {
        action: 'admission.certificate_file',
        target: `user:${ada.id}`,
        details: { mediaType: 'application/pdf', size: PDF.byteLength },
      },
    ]);
    expect(await storedObjects()).toHaveLength(1);
  });

  it('refuses types other than PDF, PNG and JPEG with 415, whatever the body', async () => {
    for (const [body, type] of [
      [HTML, 'text/html'],
      [Buffer.from('GIF89a'), 'image/gif'],
      [Buffer.from('{"a":1}'), 'application/json'],
      [Buffer.from('hello'), 'text/plain'],
    ] as const) {
      const res = await upload(bob.cookie, body, type);
      expect(res.status, type).toBe(415);
      expect(await res.json()).toMatchObject({ code: 'unsupported_media_type' });
    }
  });

  it('refuses a file whose bytes are not the type it claims (415), storing nothing', async () => {
    const html = await upload(bob.cookie, HTML, 'image/png');
    expect(html.status).toBe(415);
    expect(((await html.json()) as { detail: string }).detail).toBe(
      'the file is not a PNG image: its content does not begin like one',
    );
    const pdf = await upload(bob.cookie, PDF, 'image/jpeg; name=scan.jpg');
    expect(pdf.status).toBe(415);
    expect(((await pdf.json()) as { detail: string }).detail).toMatch(/looks like a PDF/);
    const empty = await upload(bob.cookie, Buffer.alloc(0), 'application/pdf');
    expect(empty.status).toBe(415);
    expect(await storedObjects()).toHaveLength(1);
    const standing = await (await get('/api/v1/admission/me', bob.cookie)).json();
    expect(standing).toMatchObject({ certificateFile: null });
  });

  it('refuses a file over 10 MiB with 413, by its declared length or as it streams', async () => {
    const big = Buffer.concat([PDF, Buffer.alloc(10 * MiB)]);
    const declared = await upload(bob.cookie, big, 'application/pdf');
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ code: 'payload_too_large' });
    // Chunked, with no Content-Length: counted as the bytes arrive.
    const chunks = [PDF, ...Array.from({ length: 11 }, () => Buffer.alloc(MiB))];
    const streamed = await upload(
      bob.cookie,
      new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) {
            controller.close();
          } else {
            controller.enqueue(next);
          }
        },
      }),
      'application/pdf',
    );
    expect(streamed.status).toBe(413);
    expect(await storedObjects()).toHaveLength(1);
    // Exactly 10 MiB is allowed.
    const most = Buffer.concat([PDF, Buffer.alloc(10 * MiB - PDF.byteLength)]);
    expect((await upload(bob.cookie, most, 'application/pdf')).status).toBe(200);
  });

  it('wants a certificate that is still valid and a well-formed date', async () => {
    const expired = await upload(ada.cookie, PNG, 'image/png', 'expiresOn=2020-01-01');
    expect(expired.status).toBe(400);
    expect(((await expired.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe(
      'querystring.expiresOn',
    );
    expect((await upload(ada.cookie, PNG, 'image/png', 'name=x.png')).status).toBe(400);
  });

  it('lets the applicant replace the file while the application waits', async () => {
    const res = await upload(ada.cookie, PNG, 'image/png', `expiresOn=${inAYear}&name=../scan.png`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'scan.png', mediaType: 'image/png' });
    const own = await get('/api/v1/admission/me/certificate-file', ada.cookie);
    expect(own.status).toBe(200);
    expect(own.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await own.arrayBuffer()).equals(PNG)).toBe(true);
  });

  it('is uploaded and listed through the SDK', async () => {
    const dan = await applyThroughApi(server, 'dan@uni.example');
    const as = (cookie: string) =>
      createLanternClient({
        baseUrl: server.url,
        fetch: (input, init) => {
          const request = new Request(input, init);
          request.headers.set('cookie', cookie);
          return fetch(request);
        },
      });
    const info = await as(dan.cookie).uploadCertificateFile(
      new Blob([PDF], { type: 'application/pdf' }),
      inAYear,
      'dan.pdf',
    );
    expect(info).toMatchObject({ name: 'dan.pdf', size: PDF.byteLength });
    await expect(
      as(dan.cookie).uploadCertificateFile(new Blob([HTML], { type: 'image/png' }), inAYear),
    ).rejects.toMatchObject({ status: 415, code: 'unsupported_media_type' });
    const page = await as(reviewer).listApplicants({ q: 'dan@', hasEvidence: 'true' });
    expect(page.applicants.map((a) => a.certificateFile?.name)).toEqual(['dan.pdf']);
    const viewed = await get(certificateFilePath(dan.id), reviewer);
    expect(Buffer.from(await viewed.arrayBuffer()).equals(PDF)).toBe(true);
  });

  it('shows the file to reviewers sandboxed, with its type and no sniffing', async () => {
    const res = await get(`/api/v1/admission/applicants/${ada.id}/certificate-file`, reviewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-length')).toBe(String(PNG.byteLength));
    expect(res.headers.get('content-disposition')).toBe('inline; filename="scan.png"');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox;.*default-src 'none'/);
    expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);
    const events = await server.auditEventsFor(res.headers.get('x-request-id') ?? '');
    expect(events).toMatchObject([
      {
        action: 'admission.certificate_file.view',
        actor: 'user:u_rev_example_org',
        target: `user:${ada.id}`,
        outcome: 'allowed',
      },
    ]);
  });

  it('shows nobody else the file: other applicants, anonymous callers, unknown ids', async () => {
    // Bob's own file is the 10 MiB one; he cannot name Ada's.
    expect(
      (await get(`/api/v1/admission/applicants/${ada.id}/certificate-file`, bob.cookie)).status,
    ).toBe(403);
    expect((await get(`/api/v1/admission/applicants/${ada.id}/certificate-file`, '')).status).toBe(
      401,
    );
    const own = await get('/api/v1/admission/me/certificate-file', bob.cookie);
    expect(own.headers.get('content-length')).toBe(String(10 * MiB));
    await own.arrayBuffer();
    const carol = await applyThroughApi(server, 'carol@uni.example');
    expect((await get('/api/v1/admission/me/certificate-file', carol.cookie)).status).toBe(404);
    for (const id of [carol.id, 'u_nobody']) {
      const res = await get(`/api/v1/admission/applicants/${id}/certificate-file`, reviewer);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'not_found' });
    }
  });

  it('admits on a valid file alone, and takes no file once decided', async () => {
    const queue = (await (await get('/api/v1/admission/queue', reviewer)).json()) as {
      applicants: { id: string; evidence: unknown; certificateFile: { name: string } | null }[];
    };
    expect(queue.applicants.find((a) => a.id === ada.id)).toMatchObject({
      evidence: null,
      certificateFile: { name: 'scan.png' },
    });
    const res = await fetch(`${server.url}/api/v1/admission/decisions`, {
      method: 'POST',
      headers: { cookie: reviewer, 'x-lantern-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ userIds: [ada.id], decision: 'admit' }),
    });
    expect(await res.json()).toEqual({ decided: 1 });
    const late = await upload(ada.cookie, PDF, 'application/pdf');
    expect(late.status).toBe(409);
    // Still there for the record.
    expect(
      (await get(`/api/v1/admission/applicants/${ada.id}/certificate-file`, reviewer)).status,
    ).toBe(200);
  });

  it('will not admit on a file alone once the file has expired', async () => {
    await server.ctx.database.db
      .updateTable('users')
      .set({ training_file_expires_on: '2020-01-01' })
      .where('id', '=', bob.id)
      .execute();
    const res = await fetch(`${server.url}/api/v1/admission/decisions`, {
      method: 'POST',
      headers: { cookie: reviewer, 'x-lantern-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ userIds: [bob.id], decision: 'admit' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toBe(
      'bob@uni.example has no valid training evidence yet',
    );
  });
});
