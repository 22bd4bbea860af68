import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RELEASE_LIMITS,
  disclosureChecks,
  isCountColumn,
  nextReleaseState,
  previewRelease,
  readDelimited,
  refuseDecision,
  refuseDownload,
  refuseReleaseEntries,
  refuseReleaseFileName,
  refuseRequest,
  refuseWithdrawal,
  releaseAbilities,
  releaseDecisionSchema,
  releaseMediaType,
  RELEASE_STATES,
  type DisclosureContext,
  type ReleaseViewer,
} from './index.js';

const text = (s: string) => new TextEncoder().encode(s);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

const IDS = new Set(['bq3k9x0d7m2p4r6t8v1w', 'p0', 'e1']);
const context: DisclosureContext = {
  isIdentifier: (token) => IDS.has(token),
  idColumns: new Set(['patient_ngsci_id', 'ecg_id']),
  maxRows: 1000,
  minCount: 10,
  mask: (value) => `${value.slice(0, 1)}***`,
};

function checksOf(name: string, content: string | Uint8Array) {
  const bytes = typeof content === 'string' ? text(content) : content;
  return disclosureChecks({ bytes, mediaType: releaseMediaType(name, bytes) }, context);
}

describe('release states', () => {
  it('moves only a pending request, and each event to its own state', () => {
    expect(nextReleaseState('pending', 'approve')).toBe('approved');
    expect(nextReleaseState('pending', 'reject')).toBe('rejected');
    expect(nextReleaseState('pending', 'withdraw')).toBe('withdrawn');
    for (const state of RELEASE_STATES.filter((s) => s !== 'pending')) {
      for (const event of ['approve', 'reject', 'withdraw'] as const) {
        expect(nextReleaseState(state, event)).toBeNull();
      }
    }
  });
});

describe('who may do what with a release request', () => {
  const facts = { state: 'pending' as const, requestedBy: 'u_req' };
  const viewer = (v: Partial<ReleaseViewer>): ReleaseViewer => ({
    userId: 'u_other',
    memberRole: null,
    isReviewer: false,
    ...v,
  });

  it('lets reviewers decide, never their own request, and only while pending', () => {
    expect(refuseDecision(facts, viewer({ isReviewer: true }))).toBeNull();
    expect(refuseDecision(facts, viewer({ memberRole: 'owner' }))?.code).toBe('forbidden');
    const own = refuseDecision(facts, viewer({ userId: 'u_req', isReviewer: true }));
    expect(own).toEqual({
      code: 'forbidden',
      message: 'you made this request; another reviewer must decide it',
    });
    expect(
      refuseDecision({ ...facts, state: 'approved' }, viewer({ isReviewer: true }))?.code,
    ).toBe('conflict');
  });

  it('lets the requester or an owner withdraw, while pending', () => {
    expect(refuseWithdrawal(facts, viewer({ userId: 'u_req', memberRole: 'editor' }))).toBeNull();
    expect(refuseWithdrawal(facts, viewer({ memberRole: 'owner' }))).toBeNull();
    expect(refuseWithdrawal(facts, viewer({ memberRole: 'editor' }))?.code).toBe('forbidden');
    expect(refuseWithdrawal(facts, viewer({ isReviewer: true }))?.code).toBe('forbidden');
    expect(
      refuseWithdrawal({ ...facts, state: 'rejected' }, viewer({ memberRole: 'owner' }))?.code,
    ).toBe('conflict');
  });

  it('lets members download approved files only, reviewers never', () => {
    const approved = { ...facts, state: 'approved' as const };
    expect(refuseDownload(approved, viewer({ memberRole: 'viewer' }))).toBeNull();
    expect(refuseDownload(approved, viewer({ isReviewer: true }))?.code).toBe('forbidden');
    expect(refuseDownload(facts, viewer({ memberRole: 'owner' }))?.code).toBe('conflict');
    expect(releaseAbilities(approved, viewer({ memberRole: 'owner', isReviewer: true }))).toEqual({
      canDecide: false,
      canWithdraw: false,
      canDownload: true,
    });
  });

  it('lets owners and editors request, not viewers', () => {
    expect(refuseRequest('owner')).toBeNull();
    expect(refuseRequest('editor')).toBeNull();
    expect(refuseRequest('viewer')).toMatch(/only owners and editors/u);
  });

  it('asks a decision for a reason', () => {
    expect(releaseDecisionSchema.safeParse({ approved: true, reason: '  ' }).success).toBe(false);
    expect(releaseDecisionSchema.safeParse({ approved: false, reason: 'raw ids' }).success).toBe(
      true,
    );
  });
});

describe('the archive of a request', () => {
  const entry = (name: string, size = 10) => ({ name, size });

  it('takes plain, unique names within the limits', () => {
    expect(
      refuseReleaseEntries([entry('a.csv'), entry('b.png')], DEFAULT_RELEASE_LIMITS),
    ).toBeNull();
  });

  it('refuses paths, dot names, control characters, duplicates and emptiness', () => {
    for (const name of ['dir/a.csv', '../a.csv', 'a\\b.csv', '..', '.', 'a\nb', '', 'x/']) {
      expect(refuseReleaseFileName(name), name).not.toBeNull();
    }
    expect(refuseReleaseEntries([entry('a.csv'), entry('a.csv')], DEFAULT_RELEASE_LIMITS)).toEqual({
      code: 'bad_request',
      message: 'the archive holds "a.csv" twice',
    });
    expect(refuseReleaseEntries([], DEFAULT_RELEASE_LIMITS)?.code).toBe('bad_request');
  });

  it('refuses past the limits on files, a file and the whole', () => {
    const limits = { maxFiles: 2, maxFileBytes: 100, maxRequestBytes: 150 };
    const three = [entry('a'), entry('b'), entry('c')];
    expect(refuseReleaseEntries(three, limits)?.code).toBe('payload_too_large');
    expect(refuseReleaseEntries([entry('a', 101)], limits)?.code).toBe('payload_too_large');
    expect(refuseReleaseEntries([entry('a', 100), entry('b', 51)], limits)?.code).toBe(
      'payload_too_large',
    );
  });
});

describe('media types', () => {
  it('reads images by their signature, text by its extension, and the rest as binary', () => {
    expect(releaseMediaType('plot.png', PNG)).toBe('image/png');
    expect(releaseMediaType('plot.bin', PNG)).toBe('image/png');
    expect(releaseMediaType('photo.jpg', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe(
      'image/jpeg',
    );
    expect(releaseMediaType('fake.png', text('not an image'))).toBe('text/plain');
    expect(releaseMediaType('t.csv', text('a,b\n1,2\n'))).toBe('text/csv');
    expect(releaseMediaType('t.tsv', text('a\tb\n'))).toBe('text/tab-separated-values');
    expect(releaseMediaType('f.svg', text('<svg/>'))).toBe('image/svg+xml');
    expect(releaseMediaType('m.pkl', Uint8Array.from([0x80, 0x04, 0x95, 0]))).toBe(
      'application/octet-stream',
    );
    expect(releaseMediaType('bad.csv', Uint8Array.from([0xc3, 0x28]))).toBe(
      'application/octet-stream',
    );
  });
});

describe('reading delimited text', () => {
  it('reads quotes, doubled quotes, line breaks in quotes, CRLF, and skips blank lines', () => {
    const rows: string[][] = [];
    readDelimited('a,"b,c"\r\n"say ""hi""","two\nlines"\n\nlast,', ',', (row) => {
      rows.push(row);
    });
    expect(rows).toEqual([
      ['a', 'b,c'],
      ['say "hi"', 'two\nlines'],
      ['last', ''],
    ]);
  });

  it('stops when told', () => {
    let seen = 0;
    readDelimited('a\nb\nc\n', ',', () => {
      seen += 1;
      return seen < 2;
    });
    expect(seen).toBe(2);
  });
});

describe('disclosure checks', () => {
  it('finds nothing in a clean summary table', () => {
    expect(checksOf('summary.csv', 'group,n,mean_age\nall,1204,63.2\narrest,57,66.0\n')).toEqual(
      [],
    );
  });

  it("flags the project's pseudonymous ids anywhere in text, masked", () => {
    const checks = checksOf('notes.txt', 'look at p0 and e1\nand p0 again\nnothing here\n');
    expect(checks).toEqual([
      {
        code: 'identifiers',
        message: "2 pseudonymous ids of the project's datasets on 2 lines (p***, e***)",
      },
    ]);
    expect(JSON.stringify(checks)).not.toContain('p0');
  });

  it('flags row-level tables: an id column, or more rows than the threshold', () => {
    const withIds = checksOf('rows.csv', 'patient_ngsci_id,risk\nzzz,0.1\nyyy,0.2\n');
    expect(withIds).toEqual([
      { code: 'row-level', message: 'column patient_ngsci_id holds ids on 2 rows' },
    ]);
    const ecg = checksOf('ecg.tsv', 'ECG_ID\tscore\nq\t1\n');
    expect(ecg[0]?.code).toBe('row-level');
    const long = `x,y\n${'1,2\n'.repeat(1001)}`;
    expect(checksOf('long.csv', long)).toEqual([
      { code: 'row-level', message: '1,001 rows, more than 1,000' },
    ]);
    expect(checksOf('short.csv', `x,y\n${'1,2\n'.repeat(1000)}`)).toEqual([]);
  });

  it('flags counts from 1 to 9 in count-like columns, naming the rows', () => {
    const checks = checksOf(
      'counts.csv',
      'site,n,deaths,mean\na,120,3,4\nb,5,40,2\nc,0,12,1\nd,200,7,3\ne,300,2,3\n',
    );
    expect(checks).toEqual([
      {
        code: 'small-counts',
        message:
          'column n: 1 count from 1 to 9 (rows 3); column deaths: 3 counts from 1 to 9 (rows 2, 5, 6)',
      },
    ]);
    expect(isCountColumn('num_patients')).toBe(true);
    expect(isCountColumn('event_count')).toBe(true);
    expect(isCountColumn('mean_age')).toBe(false);
  });

  it('flags binary files as not previewable, and leaves images alone', () => {
    expect(checksOf('model.pkl', Uint8Array.from([0x80, 0x04, 0, 1]))).toEqual([
      {
        code: 'not-previewable',
        message: 'binary content: the reviewer cannot see what it holds',
      },
    ]);
    expect(checksOf('plot.png', PNG)).toEqual([]);
  });
});

describe('previews', () => {
  it('shows the first rows of a table and how many there are', () => {
    const csv = `a,b\n${Array.from({ length: 5 }, (_, i) => `${i},x`).join('\n')}\n`;
    expect(previewRelease(text(csv), 'text/csv', { maxRows: 2, maxTextChars: 100 })).toEqual({
      kind: 'table',
      columns: ['a', 'b'],
      rows: [
        ['0', 'x'],
        ['1', 'x'],
      ],
      totalRows: 5,
      truncated: true,
    });
  });

  it('shows text cut at the limit, images by reference, binary not at all', () => {
    expect(
      previewRelease(text('hello world'), 'text/plain', { maxRows: 1, maxTextChars: 5 }),
    ).toEqual({ kind: 'text', text: 'hello', truncated: true });
    expect(previewRelease(PNG, 'image/png')).toEqual({ kind: 'image' });
    expect(previewRelease(Uint8Array.from([0, 1]), 'application/octet-stream').kind).toBe('none');
  });
});
