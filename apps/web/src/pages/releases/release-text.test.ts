import { RELEASE_CHECK_CODES } from '@lantern/core/releases';
import type { ReleasePreview } from '@lantern/sdk';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ChecksList, PreviewView } from './FilePreview.js';
import {
  checkTitle,
  counted,
  flaggedWords,
  purposeLine,
  releaseFileContentPath,
  releaseFileImagePath,
  releasePath,
  rowsWords,
  shortSha,
  sizeWords,
  stateBadgeClass,
} from './release-text.js';

// The airlock pages' words, and the previews and checks rendered to HTML by React itself (the
// pages that hold them are driven in Chromium by apps/web/e2e/releases.e2e.test.ts).

const render = (preview: ReleasePreview) =>
  renderToStaticMarkup(
    createElement(PreviewView, { name: 'results.csv', preview, imageUrl: '/img?x=1&y=2' }),
  );

describe('the airlock words', () => {
  it('says sizes in binary units, one decimal while small', () => {
    expect(sizeWords(0)).toBe('0 B');
    expect(sizeWords(1023)).toBe('1023 B');
    expect(sizeWords(1024)).toBe('1 KiB');
    expect(sizeWords(1536)).toBe('1.5 KiB');
    expect(sizeWords(319_488)).toBe('312 KiB');
    expect(sizeWords(32 * 1024 * 1024)).toBe('32 MiB');
    expect(sizeWords(3 * 1024 ** 3)).toBe('3 GiB');
  });

  it('shortens a SHA-256 to its first twelve digits', () => {
    const sha = 'ab'.repeat(32);
    expect(shortSha(sha)).toBe('abababababab…');
    expect(shortSha('abc')).toBe('abc');
  });

  it('counts rows, files and flags', () => {
    expect(rowsWords(200, 1204)).toBe('Showing 200 of 1,204 rows');
    expect(rowsWords(12, 12)).toBe('All 12 rows');
    expect(rowsWords(1, 1)).toBe('All 1 row');
    expect(counted(1, 'file')).toBe('1 file');
    expect(counted(3, 'file')).toBe('3 files');
    expect(flaggedWords(0)).toBe('none flagged');
    expect(flaggedWords(2)).toBe('2 flagged');
  });

  it('shows a purpose in a list by its first line, cut at a word when long', () => {
    expect(purposeLine('Table 2 of the paper.')).toBe('Table 2 of the paper.');
    expect(purposeLine('Table 2.\nWith the counts by site.')).toBe('Table 2. …');
    const long = `${'word '.repeat(30)}end`;
    expect(purposeLine(long)).toBe(`${'word '.repeat(24).trimEnd()}…`);
    expect(purposeLine('x'.repeat(130))).toBe(`${'x'.repeat(120)}…`);
  });

  it('names each check', () => {
    expect(RELEASE_CHECK_CODES.map(checkTitle)).toEqual([
      'Holds identifiers from the project’s datasets',
      'Row-level data',
      'Small counts',
      'Cannot be previewed',
    ]);
  });

  it('colours each state and links each request and file', () => {
    expect(stateBadgeClass('pending')).toBe('badge pending');
    expect(stateBadgeClass('approved')).toBe('badge ok');
    expect(stateBadgeClass('rejected')).toBe('badge down');
    expect(stateBadgeClass('withdrawn')).toBe('badge retired');
    expect(releasePath('rel_0123456789abcdef')).toBe('/releases/rel_0123456789abcdef');
    expect(releaseFileImagePath('rel_0123456789abcdef', 'rlf_0123456789abcdef')).toBe(
      '/api/v1/releases/rel_0123456789abcdef/files/rlf_0123456789abcdef/image',
    );
    expect(releaseFileContentPath('rel_0123456789abcdef', 'rlf_0123456789abcdef')).toBe(
      '/api/v1/releases/rel_0123456789abcdef/files/rlf_0123456789abcdef/content',
    );
  });
});

describe('a file preview', () => {
  it('shows a table with its header and how many of its rows it holds', () => {
    const html = render({
      kind: 'table',
      columns: ['group', 'n'],
      rows: [
        ['a', '12'],
        ['b', '<script>'],
      ],
      totalRows: 1204,
      truncated: true,
    });
    expect(html).toContain('<th scope="col">group</th><th scope="col">n</th>');
    expect(html).toContain('<td>a</td><td>12</td>');
    // A cell's text is text, never markup.
    expect(html).toContain('<td>&lt;script&gt;</td>');
    expect(html).toMatch(/data-testid="preview-rows">Showing 2 of 1,204 rows\.</);
    // The scrolling box can be reached and scrolled with the keyboard, and says what it holds.
    expect(html).toMatch(/role="region" aria-label="Preview of results.csv"[^>]*tabindex="0"/);
  });

  it('shows text as it is, saying when it is only the beginning', () => {
    const whole = render({ kind: 'text', text: 'mean age 61.2\n<b>x</b>', truncated: false });
    expect(whole).toContain('mean age 61.2\n&lt;b&gt;x&lt;/b&gt;</pre>');
    expect(whole).not.toContain('preview-truncated');
    expect(render({ kind: 'text', text: 'a', truncated: true })).toContain(
      'Showing the beginning of the file.',
    );
  });

  it('shows an image from the server’s image route, and the reason when there is no preview', () => {
    expect(render({ kind: 'image' })).toContain(
      '<img class="image-preview" src="/img?x=1&amp;y=2" alt="Preview of results.csv" data-testid="preview-image"/>',
    );
    expect(render({ kind: 'none', reason: 'a binary file' })).toContain(
      'No preview: a binary file',
    );
  });

  it('lists the checks as warnings that say where, or that none was found', () => {
    const html = renderToStaticMarkup(
      createElement(ChecksList, {
        name: 'counts.csv',
        checks: [{ code: 'small-counts', message: 'column n: 3 cells under 10 (rows 2, 5, 9)' }],
      }),
    );
    expect(html).toContain('aria-label="Warnings about counts.csv"');
    expect(html).toContain(
      '<strong>Small counts</strong>: column n: 3 cells under 10 (rows 2, 5, 9)',
    );
    expect(
      renderToStaticMarkup(createElement(ChecksList, { name: 'counts.csv', checks: [] })),
    ).toContain('The automated checks found nothing in counts.csv.');
  });
});
