import type { ApiError } from '@lantern/sdk';
import type { ReactNode } from 'react';

/** A form's problems by field name, as the server named them (without the leading `body.`). */
export type Problems = Record<string, string>;

/** The server's field errors (`body.partners.0.country`) by field name (`partners.0.country`). */
export function byField(error: ApiError): Problems {
  const problems: Problems = {};
  for (const e of error.problem.errors ?? []) {
    const field = e.path.replace(/^body\.?/, '') || 'form';
    problems[field] =
      problems[field] === undefined ? e.message : `${problems[field]}; ${e.message}`;
  }
  return problems;
}

/** A labelled input with the server's problem for it under it (and tied to it for screen readers). */
export function Field({
  name,
  label,
  problems,
  children,
}: {
  name: string;
  label: string;
  problems: Problems;
  children: (props: {
    id: string;
    name: string;
    'aria-describedby'?: string;
    'aria-invalid'?: boolean;
  }) => ReactNode;
}) {
  const problem = problems[name];
  const id = `field-${name.replaceAll('.', '-')}`;
  return (
    <label htmlFor={id}>
      {label}
      {children({
        id,
        name,
        ...(problem === undefined
          ? {}
          : { 'aria-describedby': `${id}-problem`, 'aria-invalid': true }),
      })}
      {problem !== undefined && (
        <span id={`${id}-problem`} className="field-problem bad">
          {problem}
        </span>
      )}
    </label>
  );
}
