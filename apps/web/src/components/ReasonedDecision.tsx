import { ApiError } from '@lantern/sdk';
import type { FormEvent, ReactNode } from 'react';
import { formText } from '../session.js';

/** The server's problem with a decision's reason (`body.reason`), if that is what it refused. */
export function reasonProblemOf(caught: unknown): string | undefined {
  return caught instanceof ApiError
    ? caught.problem.errors?.find((e) => e.path === 'body.reason')?.message
    : undefined;
}

/**
 * A reviewer's decision form: a required reason that the people decided about read (its problem
 * under it, tied to the field for screen readers), then Approve or the refusal's button.
 * `onDecide` hears which button was pressed and the reason; `children` come first (a heading, a
 * message).
 */
export function ReasonedDecision({
  label,
  reasonId,
  reasonLabel,
  refuse,
  problem,
  busy,
  rows = 2,
  minLength,
  onDecide,
  children,
}: {
  /** The form's accessible name. */
  label: string;
  reasonId: string;
  reasonLabel: string;
  /** The refusal's word: Refuse, Reject. */
  refuse: string;
  problem: string | null;
  busy: boolean;
  rows?: number;
  /** The server's least length, when it has one. */
  minLength?: number;
  onDecide: (approved: boolean, reason: string) => void;
  children?: ReactNode;
}) {
  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    // The button pressed says which answer: its name and value ride with the submission.
    const submitter = event.nativeEvent instanceof SubmitEvent ? event.nativeEvent.submitter : null;
    const approved = submitter instanceof HTMLButtonElement && submitter.value === 'approve';
    onDecide(approved, formText(new FormData(event.currentTarget), 'reason'));
  };
  return (
    <form onSubmit={handleSubmit} noValidate aria-label={label}>
      {children}
      <label htmlFor={reasonId}>
        {reasonLabel}
        <textarea
          id={reasonId}
          name="reason"
          rows={rows}
          required
          {...(minLength === undefined ? {} : { minLength })}
          {...(problem === null
            ? {}
            : { 'aria-invalid': true, 'aria-describedby': `${reasonId}-problem` })}
        />
      </label>
      {problem !== null && (
        <p id={`${reasonId}-problem`} role="alert" className="field-problem bad">
          {problem}
        </p>
      )}
      <button type="submit" name="decision" value="approve" disabled={busy}>
        Approve
      </button>{' '}
      <button type="submit" name="decision" value="refuse" className="danger" disabled={busy}>
        {refuse}
      </button>
    </form>
  );
}
