import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../testing/test-server.js';
import { insertApplicants } from '../testing/applicants.js';
import { createSignedInUser } from '../testing/users.js';

let server: TestServer;
let reviewer = { id: '', cookie: '' };

interface Page {
  applicants: {
    id: string;
    email: string;
    status: string;
    decidedAt: string | null;
    decidedBy: { id: string; name: string | null; email: string | null } | null;
    decisionReason: string | null;
  }[];
  nextCursor: string | null;
}

const queue = async (query: string): Promise<Page> => {
  const res = await fetch(`${server.url}/api/v1/admission/queue?${query}`, {
    headers: { cookie: reviewer.cookie },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
};

/** Follows nextCursor to the end; returns each page's ids. */
async function allPages(query: string): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const page: Page = await queue(
      `${query}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    pages.push(page.applicants.map((a) => a.id));
    cursor = page.nextCursor;
  } while (cursor !== null && pages.length < 20);
  return pages;
}

const BASE = Date.UTC(2026, 0, 5, 9, 0, 0);
const at = (seconds: number) => new Date(BASE + seconds * 1000);

// Applications arriving in pairs at the same instant, so that ties in the sort key are the rule.
const PENDING = [
  { id: 'p1', name: 'Ada Lovelace', institution: 'Northern Institute', evidence: 'id' },
  { id: 'p2', name: 'Bob Stone', institution: 'Southern College', evidence: 'file' },
  { id: 'p3', name: 'Carol Chen', institution: 'northern institute', evidence: null },
  { id: 'p4', name: 'Dan 100% Sure', institution: 'East Lab', evidence: 'id' },
  { id: 'p5', name: 'Eve Park', institution: 'West_Lab', evidence: null },
  { id: 'p6', name: 'Fay Wong', institution: 'Southern College', evidence: 'file' },
  { id: 'p7', name: 'Gus Grant', institution: 'Northern Institute', evidence: null },
] as const;
const ADMITTED = ['a1', 'a2', 'a3', 'a4', 'a5'];

beforeAll(async () => {
  server = await startTestServer();
  reviewer = await createSignedInUser(server, {
    email: 'rev@example.org',
    roles: ['reviewer'],
    password: 'granite steps toward the northern sea',
  });
  // Inserted out of order, so that the order of the answers is the query's doing.
  await insertApplicants(
    server,
    [...PENDING.entries()].reverse().map(([i, p]) => ({
      id: p.id,
      email: `${p.id}@uni.example`,
      name: p.name,
      institution: p.institution,
      status: 'pending',
      applied_at: at(Math.floor(i / 2)),
      training_certificate_id: p.evidence === 'id' ? `CITI-${p.id}` : null,
      training_expires_on: p.evidence === 'id' ? '2099-01-01' : null,
      training_file_key: p.evidence === 'file' ? `sha256/${'a'.repeat(64)}` : null,
      training_file_expires_on: p.evidence === 'file' ? '2099-01-01' : null,
    })),
  );
  await insertApplicants(
    server,
    ADMITTED.map((id, i) => ({
      id,
      email: `${id}@uni.example`,
      name: `Admitted ${id}`,
      status: 'admitted',
      roles: ['researcher'],
      applied_at: at(-100),
      decided_at: at(100 + Math.floor(i / 2)),
      decided_by: reviewer.id,
      decision_reason: i === 0 ? 'Known to the committee.' : '',
    })),
  );
  await insertApplicants(server, [
    {
      id: 'r1',
      email: 'r1@uni.example',
      name: 'Rejected One',
      status: 'rejected',
      applied_at: at(-100),
      decided_at: at(50),
      decided_by: reviewer.id,
      decision_reason: 'The stated purpose is commercial.',
    },
  ]);
});

afterAll(async () => {
  await server.close();
});

describe(`admission queue on ${TEST_DIALECT}`, () => {
  it('pages pending applications oldest first, ties by id, with no duplicates or gaps', async () => {
    const pages = await allPages('limit=3');
    expect(pages).toEqual([['p1', 'p2', 'p3'], ['p4', 'p5', 'p6'], ['p7']]);
    // A page that ends exactly at the end says so, rather than promising an empty page.
    expect((await queue('limit=7')).nextCursor).toBeNull();
    expect(await allPages('limit=1')).toEqual(PENDING.map((p) => [p.id]));
  });

  it('pages decisions newest first, with who decided, when and why', async () => {
    expect(await allPages('status=admitted&limit=2')).toEqual([['a5', 'a4'], ['a3', 'a2'], ['a1']]);
    const [rejected] = (await queue('status=rejected')).applicants;
    expect(rejected).toMatchObject({
      id: 'r1',
      status: 'rejected',
      decidedAt: at(50).toISOString(),
      decidedBy: { id: reviewer.id, name: 'rev@example.org', email: 'rev@example.org' },
      decisionReason: 'The stated purpose is commercial.',
    });
  });

  it('filters on evidence on file, by certificate id or by file', async () => {
    expect((await allPages('hasEvidence=true&limit=2')).flat()).toEqual(['p1', 'p2', 'p4', 'p6']);
    expect((await allPages('hasEvidence=false&limit=2')).flat()).toEqual(['p3', 'p5', 'p7']);
  });

  it('searches name, email and institution, whatever the case, with wildcards literal', async () => {
    const ids = async (q: string, more = '') =>
      (await allPages(`q=${encodeURIComponent(q)}&limit=2${more}`)).flat();
    expect(await ids('NORTHERN')).toEqual(['p1', 'p3', 'p7']);
    expect(await ids('p5@uni')).toEqual(['p5']);
    expect(await ids('fay')).toEqual(['p6']);
    expect(await ids('%')).toEqual(['p4']);
    expect(await ids('_')).toEqual(['p5']);
    expect(await ids('northern', '&hasEvidence=false')).toEqual(['p3', 'p7']);
    expect(await ids('nobody at all')).toEqual([]);
    expect(await ids('admitted', '&status=admitted')).toHaveLength(5);
  });

  it('continues after an applicant who was decided between two pages', async () => {
    const first = await queue('limit=3');
    const res = await fetch(`${server.url}/api/v1/admission/decisions`, {
      method: 'POST',
      headers: {
        cookie: reviewer.cookie,
        'x-lantern-csrf': '1',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ userIds: ['p3'], decision: 'reject', reason: 'Not a researcher.' }),
    });
    expect(res.status).toBe(200);
    const second = await queue(`limit=3&cursor=${encodeURIComponent(first.nextCursor ?? '')}`);
    expect(second.applicants.map((a) => a.id)).toEqual(['p4', 'p5', 'p6']);
    expect((await queue('status=rejected')).applicants.map((a) => a.id)).toEqual(['p3', 'r1']);
  });

  it('refuses a cursor that is not from a page of the same list', async () => {
    const admitted = await queue('status=admitted&limit=1');
    for (const cursor of [admitted.nextCursor ?? '', 'not-a-cursor', '']) {
      const res = await fetch(
        `${server.url}/api/v1/admission/queue?cursor=${encodeURIComponent(cursor)}`,
        { headers: { cookie: reviewer.cookie } },
      );
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe(
        'querystring.cursor',
      );
    }
  });
});
