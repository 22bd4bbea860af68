/**
 * The PHI review of a draft an ingest made (issue 6): what the scan found in the published tables
 * (examples masked, with their row numbers), a curator's decision on each finding — drop the
 * column, or say why it is not PHI. Files held back are reviewed in their own section (HeldFiles).
 * Publication waits until no finding is open; the server keeps the decisions and says what is open.
 */
import type { PhiDecisionInput, PhiFinding, PhiReview } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { day } from './catalog-text.js';

/** Runs a decision through the draft page (its message, its refreshed draft and preview). */
export type Decide = (decisions: PhiDecisionInput[], done: string) => Promise<boolean>;

const percent = (confidence: number) => `${Math.round(confidence * 100)}%`;

/** `patients.birth_date`, as findings and decisions name a column. */
const columnOf = (finding: Pick<PhiFinding, 'table' | 'column'>) =>
  `${finding.table}.${finding.column}`;

/** The decision that resolves a finding, if any: a drop of its column wins over a confirmation. */
export function decisionOf(
  review: PhiReview,
  finding: PhiFinding,
): PhiReview['decisions'][number] | undefined {
  return (
    review.decisions.find(
      (d) => d.action === 'drop' && d.table === finding.table && d.column === finding.column,
    ) ?? review.decisions.find((d) => d.action === 'confirm' && d.finding === finding.id)
  );
}

/** Who decided, and when: "by Rosalind Franklin on 12/4/2026", or nothing when not recorded. */
function decidedBy(decision: PhiReview['decisions'][number]): string {
  const who = decision.by === null ? '' : ` by ${decision.by}`;
  const when = decision.at === null ? '' : ` on ${day(decision.at)}`;
  return `${who}${when}`;
}

/** What was decided on a finding, by whom, and the note, in words. */
function DecisionText({ decision }: { decision: PhiReview['decisions'][number] }) {
  if (decision.action === 'confirm') {
    return (
      <>
        <strong>Not PHI</strong>, confirmed{decidedBy(decision)}: {decision.note}
      </>
    );
  }
  return (
    <>
      <strong>Column dropped</strong>
      {decidedBy(decision)}: it is not in the published table {decision.table}.
      {decision.note === undefined || decision.note === '' ? null : ` Note: ${decision.note}`}
    </>
  );
}

/** The two decisions on one open finding: drop its column (confirmed first), or "Not PHI" with a note. */
function FindingDecision({ finding, decide }: { finding: PhiFinding; decide: Decide }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const name = columnOf(finding);
  const handleDrop = () => {
    if (
      !window.confirm(
        `Drop the column ${name}? It leaves the published table ${finding.table}: every row is rewritten without it.`,
      )
    ) {
      return;
    }
    setBusy(true);
    void decide(
      [{ action: 'drop', table: finding.table, column: finding.column }],
      `Column ${name} dropped.`,
    ).then(() => setBusy(false));
  };
  const handleConfirm = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    // The note goes as typed: the server says when it does not say why.
    void decide(
      [{ action: 'confirm', finding: finding.id, note }],
      `${name} (${finding.kind}) confirmed as not PHI.`,
    ).then((ok) => {
      setBusy(false);
      if (ok) {
        setNote('');
      }
    });
  };
  return (
    <div className="phi-decision">
      <button
        type="button"
        className="danger"
        disabled={busy}
        aria-label={`Drop the column ${name}`}
        onClick={handleDrop}
      >
        Drop the column
      </button>
      <form onSubmit={handleConfirm} aria-label={`Not PHI: ${finding.id}`}>
        <label>
          Why it is not PHI
          <input
            value={note}
            required
            maxLength={2000}
            aria-label={`Why it is not PHI: ${name} (${finding.kind})`}
            onChange={(e) => setNote(e.target.value)}
          />
        </label>{' '}
        <button type="submit" disabled={busy} aria-label={`Not PHI: ${name} (${finding.kind})`}>
          Not PHI
        </button>
      </form>
    </div>
  );
}

/** One finding: where, what, how many, how sure, why, masked examples, and its decision. */
function FindingRow({
  review,
  finding,
  decide,
}: {
  review: PhiReview;
  finding: PhiFinding;
  decide: Decide;
}) {
  const decision = decisionOf(review, finding);
  const isOpen = review.open.includes(finding.id);
  return (
    <tr data-testid={`phi-finding-${finding.id}`} className={isOpen ? 'open' : 'decided'}>
      <th scope="row">
        <code>{columnOf(finding)}</code>
        {finding.freeText && <span className="muted"> (free text)</span>}
      </th>
      <td>{finding.kind}</td>
      <td>{finding.cells.toLocaleString('en')}</td>
      <td>{percent(finding.confidence)}</td>
      <td>{finding.reason}</td>
      <td>
        {finding.examples.length === 0 ? (
          <span className="muted">none kept</span>
        ) : (
          <ul className="plain">
            {finding.examples.map((example) => (
              <li key={example.row}>
                row {example.row}: <code>{example.masked}</code>
              </li>
            ))}
          </ul>
        )}
      </td>
      <td data-testid="phi-decision">
        {decision !== undefined ? (
          <DecisionText decision={decision} />
        ) : (
          <FindingDecision finding={finding} decide={decide} />
        )}
      </td>
    </tr>
  );
}

/** The PHI review section of the draft page; nothing when the draft was not made by an ingest. */
export function PhiReviewSection({ review, decide }: { review: PhiReview; decide: Decide }) {
  if (review.ingest === null) {
    return null;
  }
  const open = review.open.length;
  return (
    <section aria-labelledby="phi-title" data-testid="phi-review">
      <h2 id="phi-title" tabIndex={-1}>
        PHI review
      </h2>
      <p className="muted">
        The scan of the ingest's published tables looked for names, record numbers, telephone
        numbers, email and street addresses, social security numbers and dates of birth. Examples
        are masked.
      </p>
      {review.findings.length === 0 ? (
        <p data-testid="phi-empty">The scan found nothing.</p>
      ) : (
        <>
          <p role="status" data-testid="phi-open" className={open > 0 ? 'bad' : 'good'}>
            {open === 0
              ? `Every finding is decided (${review.findings.length}).`
              : `${open} of ${review.findings.length} ${review.findings.length === 1 ? 'finding' : 'findings'} open: publication waits for a decision on each.`}
          </p>
          <div className="scroll">
            <table className="checks phi">
              <caption className="muted">What the scan found, one row per column and kind</caption>
              <thead>
                <tr>
                  <th scope="col">Column</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Cells</th>
                  <th scope="col">Confidence</th>
                  <th scope="col">Why</th>
                  <th scope="col">Examples (masked)</th>
                  <th scope="col">Decision</th>
                </tr>
              </thead>
              <tbody>
                {review.findings.map((finding) => (
                  <FindingRow key={finding.id} review={review} finding={finding} decide={decide} />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
