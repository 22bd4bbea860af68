import { useId } from 'react';
import type { ReleaseCheck } from '@lantern/core/releases';
import type { ReleasePreview } from '@lantern/sdk';
import { checkTitle, rowsWords } from './release-text.js';

/**
 * The automated disclosure checks of a file as warnings: each says what it found and where. They
 * help the reviewer; they never decide alone, and a file without any is said to have passed them.
 */
export function ChecksList({ name, checks }: { name: string; checks: readonly ReleaseCheck[] }) {
  if (checks.length === 0) {
    return (
      <p className="good" data-testid="checks-none">
        The automated checks found nothing in {name}.
      </p>
    );
  }
  return (
    <ul className="release-checks" aria-label={`Warnings about ${name}`} data-testid="checks">
      {checks.map((check) => (
        <li key={`${check.code}:${check.message}`} className="warn" data-code={check.code}>
          <span aria-hidden="true">⚠ </span>
          <strong>{checkTitle(check.code)}</strong>: {check.message}
        </li>
      ))}
    </ul>
  );
}

/**
 * A table preview: the first rows under a header that stays in view while they scroll, and how
 * many of the file's rows they are. The scrolling box takes the keyboard focus, so that it can be
 * scrolled without a mouse.
 */
function TablePreview({
  name,
  preview,
}: {
  name: string;
  preview: Extract<ReleasePreview, { kind: 'table' }>;
}) {
  const captionId = useId();
  return (
    <>
      <p className="muted" id={captionId} data-testid="preview-rows">
        {rowsWords(preview.rows.length, preview.totalRows)}.
      </p>
      <div
        className="table-preview"
        role="region"
        aria-label={`Preview of ${name}`}
        aria-describedby={captionId}
        tabIndex={0}
      >
        <table className="checks" data-testid="preview-table">
          <thead>
            <tr>
              {preview.columns.map((column, i) => (
                <th scope="col" key={i}>
                  {column}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, r) => (
              <tr key={r}>
                {row.map((cell, c) => (
                  <td key={c}>{cell}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/**
 * The preview of one file of a release request, whatever its kind: a table (CSV, TSV), text, an
 * image (fetched from `imageUrl`, the server's image route) or the server's reason it shows none.
 */
export function PreviewView({
  name,
  preview,
  imageUrl,
}: {
  name: string;
  preview: ReleasePreview;
  imageUrl: string;
}) {
  switch (preview.kind) {
    case 'table':
      return <TablePreview name={name} preview={preview} />;
    case 'text':
      return (
        <>
          {preview.truncated && (
            <p className="muted" data-testid="preview-truncated">
              Showing the beginning of the file.
            </p>
          )}
          <pre
            className="text-preview"
            role="region"
            aria-label={`Preview of ${name}`}
            tabIndex={0}
            data-testid="preview-text"
          >
            {preview.text}
          </pre>
        </>
      );
    case 'image':
      return (
        <img
          className="image-preview"
          src={imageUrl}
          alt={`Preview of ${name}`}
          data-testid="preview-image"
        />
      );
    case 'none':
      return (
        <p className="warn" data-testid="preview-none">
          No preview: {preview.reason}
        </p>
      );
    default:
      return preview satisfies never;
  }
}
