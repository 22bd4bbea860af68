/**
 * The egress guard's rules on their own: which Jupyter paths it refuses and why, including the
 * spellings that try to slip past them (encoded, repeated slashes, dot segments, repeated query
 * arguments), and the size limit's cut.
 */
import { describe, expect, it } from 'vitest';
import { checkEgressRequest, ResponseSizeLimit } from './egress-guard.js';

const reasonOf = (method: string, path: string, query = '') =>
  checkEgressRequest(method, path, query)?.reason ?? null;

describe('checkEgressRequest', () => {
  it('lets the notebook work: pages, kernels, sessions, and contents outside the datasets', () => {
    expect(reasonOf('GET', 'tree')).toBeNull();
    expect(reasonOf('GET', 'notebooks/project/analysis.ipynb')).toBeNull();
    expect(reasonOf('POST', 'api/kernels')).toBeNull();
    expect(reasonOf('GET', 'api/contents/project/analysis.ipynb')).toBeNull();
    expect(reasonOf('PUT', 'api/contents/project/analysis.ipynb')).toBeNull();
    expect(reasonOf('GET', 'api/contents/datasets')).toBeNull();
    expect(reasonOf('GET', 'api/nbconvert')).toBeNull();
  });

  it('refuses files/, nbconvert/ and any download argument', () => {
    expect(reasonOf('GET', 'files/datasets/x/1.0/a.csv')).toBe('files');
    expect(reasonOf('GET', 'files/project/out.png')).toBe('files');
    expect(reasonOf('GET', '%66iles/project/out.png')).toBe('files');
    expect(reasonOf('GET', 'nbconvert/html/project/a.ipynb')).toBe('nbconvert');
    expect(reasonOf('POST', 'nbconvert/script')).toBe('nbconvert');
    expect(reasonOf('GET', 'api/contents/project/a.ipynb', 'download=1')).toBe('download');
    // Tornado takes "0" and "false" as true too: any non-empty value downloads.
    expect(reasonOf('GET', 'edit/project/a.py', 'x=1&download=0')).toBe('download');
    expect(reasonOf('GET', 'edit/project/a.py', 'download=')).toBeNull();
  });

  it('refuses reads of dataset files through the contents API, however the path is spelled', () => {
    const file = 'api/contents/datasets/knee/1.0/tables/patients.csv';
    expect(reasonOf('GET', file)).toBe('dataset-contents');
    expect(reasonOf('GET', file, 'content=1')).toBe('dataset-contents');
    expect(reasonOf('GET', 'api/contents//datasets///knee/1.0/t.csv')).toBe('dataset-contents');
    expect(reasonOf('GET', 'api/contents/datasets%2Fknee%2F1.0%2Ft.csv')).toBe('dataset-contents');
    expect(reasonOf('GET', 'api/contents/%64atasets/knee/1.0/t.csv')).toBe('dataset-contents');
    // Tornado reads the last of repeated arguments.
    expect(reasonOf('GET', file, 'content=0&content=1')).toBe('dataset-contents');
    expect(reasonOf('GET', file, 'type=directory&type=file')).toBe('dataset-contents');
    // Listing without content is how the file browser shows what is mounted.
    expect(reasonOf('GET', 'api/contents/datasets/knee/1.0', 'content=0')).toBeNull();
    expect(reasonOf('GET', 'api/contents/datasets/knee/1.0', 'type=directory')).toBeNull();
    // A write into the mount fails in the sandbox (read-only); it takes nothing out.
    expect(reasonOf('PATCH', file)).toBeNull();
  });

  it('refuses dot segments and broken encodings rather than resolving them', () => {
    expect(reasonOf('GET', 'api/contents/project/../datasets/knee/1.0/t.csv')).toBe('unclear-path');
    expect(reasonOf('GET', 'api/contents/project/%2E%2E/datasets/k/1.0/t.csv')).toBe(
      'unclear-path',
    );
    expect(reasonOf('GET', './files/x')).toBe('unclear-path');
    expect(reasonOf('GET', 'api/contents/%E0%A4%A')).toBe('unclear-path');
  });

  it('says why in words a researcher can act on', () => {
    expect(checkEgressRequest('GET', 'files/a.csv', '')?.detail).toMatch(
      /files\/ route is blocked\. Nothing leaves an instance until reviewed release/,
    );
  });
});

describe('ResponseSizeLimit', () => {
  /** How many of `chunks` pass, and the bytes counted, before the first refused. */
  function admitted(chunks: number[], limit: number) {
    const sizeLimit = new ResponseSizeLimit(limit);
    const passed = chunks.findIndex((length) => !sizeLimit.admit(length));
    return { passed: passed === -1 ? chunks.length : passed, counted: sizeLimit.bytes };
  }

  it('passes a response up to the limit whole', () => {
    expect(admitted([600, 400], 1000)).toEqual({ passed: 2, counted: 1000 });
  });

  it('refuses the chunk that would go one byte over the limit, and everything after', () => {
    const sizeLimit = new ResponseSizeLimit(1000);
    expect([600, 401, 9, 0].map((length) => sizeLimit.admit(length))).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(admitted([600, 401, 9], 1000)).toEqual({ passed: 1, counted: 600 });
  });
});
