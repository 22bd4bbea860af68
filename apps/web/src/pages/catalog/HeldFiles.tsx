/**
 * The files a draft's last ingest held back (issue 6): images whose pixels may carry burned-in
 * text, NumPy archives with arrays named otherwise than ECG arrays (renamed), and files no
 * de-identifier reads. Each held image or archive shows a preview the server renders (the pixels;
 * the arrays plotted) (curators only; the file itself never leaves) beside the reason it was held;
 * a curator releases it, saying why what it shows does not identify anyone, or excludes it (it
 * stays out, and the table cells that named it are emptied) — one file at a time, or the ones
 * ticked all at once.
 * Publication waits until none is open.
 */
import type { HeldDecisionInput, HeldFile, HeldReview } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { day } from './catalog-text.js';

/** Runs decisions through the draft page (its message, its refreshed draft and preview). */
export type DecideHeld = (decisions: HeldDecisionInput[], done: string) => Promise<boolean>;

const files = (n: number) => `${n} ${n === 1 ? 'file' : 'files'}`;

/** What was decided on a file, by whom and when, with the note. */
function DecisionText({ file }: { file: HeldFile }) {
  const who = file.by === null ? '' : ` by ${file.by}`;
  const when = file.at === null ? '' : ` on ${day(file.at)}`;
  const note = file.note === null || file.note === '' ? '' : `: ${file.note}`;
  return file.decision === 'release' ? (
    <>
      <strong>Released</strong>
      {who}
      {when}
      {note}
    </>
  ) : (
    <>
      <strong>Excluded</strong>
      {who}
      {when}: not in the version; the cells that named it are empty
      {note === '' ? '.' : `. Note${note}`}
    </>
  );
}

/** Release with a note, or exclude, one open file. */
function FileDecision({ file, decide }: { file: HeldFile; decide: DecideHeld }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const handleRelease = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    // The note goes as typed: the server says when it does not say why.
    void decide([{ file: file.id, action: 'release', note }], `${file.path} released.`).then(
      (ok) => {
        setBusy(false);
        if (ok) {
          setNote('');
        }
      },
    );
  };
  const handleExclude = () => {
    setBusy(true);
    void decide([{ file: file.id, action: 'exclude' }], `${file.path} excluded.`).then(() =>
      setBusy(false),
    );
  };
  return (
    <div className="phi-decision">
      {file.previewable && (
        <form onSubmit={handleRelease} aria-label={`Release ${file.path}`}>
          <label>
            Why what it shows does not identify anyone
            <input
              value={note}
              required
              maxLength={2000}
              aria-label={`Why it can be released: ${file.path}`}
              onChange={(e) => setNote(e.target.value)}
            />
          </label>{' '}
          <button type="submit" disabled={busy} aria-label={`Release ${file.path}`}>
            Release
          </button>
        </form>
      )}
      <button
        type="button"
        className="danger"
        disabled={busy}
        aria-label={`Exclude ${file.path}`}
        onClick={handleExclude}
      >
        Exclude
      </button>
    </div>
  );
}

/** One held file: its preview (or why there is none), path, reason and decision. */
function HeldRow({
  slug,
  file,
  decide,
  selected,
  onSelect,
}: {
  slug: string;
  file: HeldFile;
  decide: DecideHeld;
  selected: boolean;
  onSelect: (selected: boolean) => void;
}) {
  const isOpen = file.decision === null;
  return (
    <tr data-testid={`held-file-${file.id}`} className={isOpen ? 'open' : 'decided'}>
      <td>
        {isOpen && (
          <input
            type="checkbox"
            checked={selected}
            aria-label={`Select ${file.path}`}
            onChange={(e) => onSelect(e.target.checked)}
          />
        )}
      </td>
      <td>
        {file.previewable ? (
          <img
            className="held-preview"
            src={api.heldFilePreviewPath(slug, file.id)}
            alt={`Preview of ${file.path}`}
            loading="lazy"
          />
        ) : (
          <span className="muted">No preview: no de-identifier reads it.</span>
        )}
      </td>
      <th scope="row">
        <code>{file.path}</code>
        <div className="muted">
          {file.table}.{file.column}
        </div>
      </th>
      <td>{file.reason}</td>
      <td data-testid="held-decision">
        {isOpen ? <FileDecision file={file} decide={decide} /> : <DecisionText file={file} />}
      </td>
    </tr>
  );
}

/** The ticked open files decided at once: released with one note, or excluded. */
function BulkDecision({
  chosen,
  decide,
  onDone,
}: {
  chosen: HeldFile[];
  decide: DecideHeld;
  onDone: () => void;
}) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const run = (decisions: HeldDecisionInput[], done: string) => {
    setBusy(true);
    void decide(decisions, done).then((ok) => {
      setBusy(false);
      if (ok) {
        setNote('');
        onDone();
      }
    });
  };
  const handleRelease = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    run(
      chosen.map((file) => ({ file: file.id, action: 'release' as const, note })),
      `${files(chosen.length)} released.`,
    );
  };
  const releasable = chosen.every((file) => file.previewable);
  return (
    <div className="phi-decision" data-testid="held-bulk">
      <span>{files(chosen.length)} ticked:</span>{' '}
      <button
        type="button"
        className="danger"
        disabled={busy || chosen.length === 0}
        onClick={() =>
          run(
            chosen.map((file) => ({ file: file.id, action: 'exclude' as const })),
            `${files(chosen.length)} excluded.`,
          )
        }
      >
        Exclude the ticked files
      </button>
      <form onSubmit={handleRelease} aria-label="Release the ticked files">
        <label>
          Why the text in them does not identify anyone
          <input
            value={note}
            required
            maxLength={2000}
            aria-label="Why the ticked files can be released"
            onChange={(e) => setNote(e.target.value)}
          />
        </label>{' '}
        <button type="submit" disabled={busy || chosen.length === 0 || !releasable}>
          Release the ticked files
        </button>
      </form>
    </div>
  );
}

/** The held-files section of the draft page; nothing when the draft was not made by an ingest. */
export function HeldFilesSection({
  slug,
  review,
  decide,
}: {
  slug: string;
  review: HeldReview;
  decide: DecideHeld;
}) {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  if (review.ingest === null) {
    return null;
  }
  const open = review.files.filter((file) => file.decision === null);
  const chosen = open.filter((file) => selected.has(file.id));
  const select = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) {
      next.add(id);
    } else {
      next.delete(id);
    }
    setSelected(next);
  };
  return (
    <section aria-labelledby="held-title" data-testid="held-review">
      <h2 id="held-title">Held back for review</h2>
      <p className="muted">
        Images whose pixels may carry burned-in text (names, record numbers, dates), NumPy archives
        with arrays named otherwise than ECG arrays, and files no de-identifier reads, are kept out
        of the version until a curator decides. Their headers are cleaned and the arrays renamed;
        the previews show the pixels as they are and the arrays plotted.
      </p>
      {review.files.length === 0 ? (
        <p data-testid="held-empty">No file was held back.</p>
      ) : (
        <>
          <p role="status" data-testid="held-open" className={open.length > 0 ? 'bad' : 'good'}>
            {open.length === 0
              ? `Every held file is decided (${review.files.length}).`
              : `${open.length} of ${files(review.files.length)} open: publication waits for a decision on each.`}
          </p>
          {open.length > 0 && (
            <p>
              <label>
                <input
                  type="checkbox"
                  checked={chosen.length === open.length}
                  onChange={(e) =>
                    setSelected(new Set(e.target.checked ? open.map((file) => file.id) : []))
                  }
                />{' '}
                Tick every open file
              </label>
            </p>
          )}
          {chosen.length > 0 && (
            <BulkDecision chosen={chosen} decide={decide} onDone={() => setSelected(new Set())} />
          )}
          <div className="scroll">
            <table className="checks phi held">
              <caption className="muted">Held files, one row each</caption>
              <thead>
                <tr>
                  <th scope="col">Tick</th>
                  <th scope="col">Preview</th>
                  <th scope="col">File</th>
                  <th scope="col">Why it was held</th>
                  <th scope="col">Decision</th>
                </tr>
              </thead>
              <tbody>
                {review.files.map((file) => (
                  <HeldRow
                    key={file.id}
                    slug={slug}
                    file={file}
                    decide={decide}
                    selected={selected.has(file.id)}
                    onSelect={(on) => select(file.id, on)}
                  />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
