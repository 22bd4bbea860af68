import type { AccessRequest } from '@lantern/sdk';
import { ApiError } from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { asSentence, can, formText, useSession } from '../../session.js';
import { datasetPath, day, problemOf } from '../catalog/catalog-text.js';

const VIEWS = [
  { status: 'requested', label: 'Waiting' },
  { status: 'attached', label: 'Approved' },
  { status: 'refused', label: 'Refused' },
] as const;

/** One request with its project's purpose, and the reviewer's answer: a reason is required. */
function RequestCard({
  request,
  onAnswered,
  navigate,
}: {
  request: AccessRequest;
  onAnswered: () => void;
  navigate: (to: string) => void;
}) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reasonId = `reason-${request.id}`;
  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    // The button pressed says which answer: its name and value ride with the submission.
    const submitter = event.nativeEvent instanceof SubmitEvent ? event.nativeEvent.submitter : null;
    const decision =
      submitter instanceof HTMLButtonElement && submitter.value === 'approve'
        ? 'approve'
        : 'refuse';
    setBusy(true);
    setProblem(null);
    api.decideAccessRequest(request.id, decision, formText(form, 'reason')).then(
      () => {
        setBusy(false);
        onAnswered();
      },
      (caught: unknown) => {
        setBusy(false);
        const field =
          caught instanceof ApiError
            ? caught.problem.errors?.find((e) => e.path === 'body.reason')?.message
            : undefined;
        setProblem(asSentence(field === undefined ? problemOf(caught) : `the reason: ${field}`));
      },
    );
  };
  const title = `${request.title} ${request.version} for "${request.project.title}"`;
  return (
    <article className="panel" data-testid={`request-${request.slug}`}>
      <h2>
        <Link to={datasetPath(request.slug, request.version)} navigate={navigate}>
          {request.title}
        </Link>{' '}
        version {request.version}
      </h2>
      <p>
        For the project <strong>{request.project.title}</strong>
        {request.project.status === 'archived' && ' (archived)'}, asked by{' '}
        {request.requestedBy.name} ({request.requestedBy.email}) on {day(request.requestedAt)}.
      </p>
      <h3>Research purpose</h3>
      <blockquote className="purpose">{request.project.purpose}</blockquote>
      {request.status === 'requested' ? (
        <form onSubmit={handleSubmit} noValidate aria-label={`Answer the request for ${title}`}>
          <label htmlFor={reasonId}>
            Reason (the project's members read it; required)
            <textarea
              id={reasonId}
              name="reason"
              rows={2}
              required
              minLength={5}
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
            Refuse
          </button>
        </form>
      ) : (
        <p data-testid="request-answer">
          {request.status === 'attached' ? 'Approved' : 'Refused'}
          {request.decidedAt !== null && ` on ${day(request.decidedAt)}`}: {request.reason}
        </p>
      )}
    </article>
  );
}

/**
 * /access-requests (reviewers): requests for approval-tier dataset versions, oldest first, each
 * with its project's research purpose; approved or refused with a reason the members read.
 */
export function AccessRequestsPage({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
  const [status, setStatus] = useState<AccessRequest['status']>('requested');
  const [requests, setRequests] = useState<AccessRequest[] | null>(null);
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const allowed = can(user, 'access.review');
  const load = useCallback(async () => {
    try {
      setRequests(await api.listAccessRequests(status));
    } catch (caught) {
      setMessage({ text: asSentence(problemOf(caught)), bad: true });
    }
  }, [status]);
  useEffect(() => {
    if (allowed) {
      void load();
    }
  }, [allowed, load]);
  if (!allowed) {
    return (
      <section aria-labelledby="requests-title">
        <h1 id="requests-title">Access requests</h1>
        <p>The queue of access requests is for reviewers signed in with their second factor.</p>
      </section>
    );
  }
  const handleAnswered = () => {
    setMessage({
      text: 'Answered; the requester is emailed and the project shows it.',
      bad: false,
    });
    void load();
  };
  return (
    <section aria-labelledby="requests-title">
      <h1 id="requests-title">Access requests</h1>
      <p className="muted">
        Projects ask for datasets that need approval. Read each project's purpose; approve or
        refuse, and say why.
      </p>
      <div className="tabs" role="group" aria-label="Which requests">
        {VIEWS.map((v) => (
          <button
            key={v.status}
            type="button"
            aria-pressed={status === v.status}
            onClick={() => {
              setRequests(null);
              setStatus(v.status);
            }}
          >
            {v.label}
          </button>
        ))}
      </div>
      {message !== null && (
        <p
          role={message.bad ? 'alert' : 'status'}
          className={message.bad ? 'bad' : 'good'}
          data-testid="requests-message"
        >
          {message.text}
        </p>
      )}
      {requests === null && message?.bad !== true && <p role="status">Loading…</p>}
      {requests !== null && requests.length === 0 && (
        <p data-testid="requests-empty">
          {status === 'requested' ? 'No request is waiting.' : 'None yet.'}
        </p>
      )}
      {requests?.map((request) => (
        <RequestCard
          key={request.id}
          request={request}
          onAnswered={handleAnswered}
          navigate={navigate}
        />
      ))}
    </section>
  );
}
