import type { AccessRequest } from '@lantern/sdk';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { ReasonedDecision, reasonProblemOf } from '../../components/ReasonedDecision.js';
import { ViewButtons } from '../../components/ViewButtons.js';
import { asSentence, can, useSession } from '../../session.js';
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
  const handleDecide = (approved: boolean, reason: string) => {
    setBusy(true);
    setProblem(null);
    api.decideAccessRequest(request.id, approved ? 'approve' : 'refuse', reason).then(
      () => {
        setBusy(false);
        onAnswered();
      },
      (caught: unknown) => {
        setBusy(false);
        const field = reasonProblemOf(caught);
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
        <ReasonedDecision
          label={`Answer the request for ${title}`}
          reasonId={`reason-${request.id}`}
          reasonLabel="Reason (the project's members read it; required)"
          refuse="Refuse"
          problem={problem}
          busy={busy}
          minLength={5}
          onDecide={handleDecide}
        />
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
  const [view, setView] = useState<(typeof VIEWS)[number]>(VIEWS[0]);
  const { status } = view;
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
      <ViewButtons
        label="Which requests"
        views={VIEWS}
        shown={view}
        onShow={(chosen) => {
          setRequests(null);
          setView(chosen);
        }}
      />
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
