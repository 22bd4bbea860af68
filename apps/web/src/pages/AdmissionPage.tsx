import { ApiError, type AdmissionStanding, type Applicant } from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { can, formText, useSession } from '../session.js';

const problemOf = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail : 'the server cannot be reached';

/** The applicant's waiting page: where they stand, and their training evidence. */
function WaitingPage() {
  const [standing, setStanding] = useState<AdmissionStanding | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setStanding(await api.getAdmissionStanding());
    } catch (caught) {
      setError(problemOf(caught));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const handleEvidence = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    api
      .submitTrainingEvidence(formText(form, 'certificateId'), formText(form, 'expiresOn'))
      .then(load, (caught: unknown) => {
        setError(problemOf(caught));
      });
  };

  if (standing === null) {
    return error === null ? <p role="status">Loading…</p> : <p role="alert">{error}</p>;
  }
  return (
    <section aria-labelledby="waiting-title" className="narrow">
      <h1 id="waiting-title">Your application</h1>
      <p data-testid="standing">
        {standing.status === 'unverified' &&
          'Confirm your email address with the link we sent; then your application joins the queue.'}
        {standing.status === 'pending' &&
          `Waiting for review${standing.ahead === null ? '' : `; ${standing.ahead} ${standing.ahead === 1 ? 'application is' : 'applications are'} ahead of yours`}.`}
        {standing.status === 'admitted' && 'You are admitted.'}
        {standing.status === 'rejected' &&
          `Your application was not approved: ${standing.decision?.reason ?? ''}`}
      </p>
      {standing.status === 'pending' && (
        <p data-testid="median-wait">
          {standing.medianWaitDays === null
            ? 'No decisions yet to estimate the wait from.'
            : `Decisions lately took ${standing.medianWaitDays} days (median).`}
        </p>
      )}
      {standing.status === 'pending' && (
        <form onSubmit={handleEvidence}>
          <h2>Human-subjects research training</h2>
          {standing.evidence !== null && (
            <p role="status">
              On file: certificate {standing.evidence.certificateId}, valid until{' '}
              {standing.evidence.expiresOn}.
            </p>
          )}
          <label>
            Certificate id
            <input
              name="certificateId"
              required
              defaultValue={standing.evidence?.certificateId ?? ''}
            />
          </label>
          <label>
            Valid until
            <input
              name="expiresOn"
              type="date"
              required
              defaultValue={standing.evidence?.expiresOn ?? ''}
            />
          </label>
          {error !== null && (
            <p role="alert" className="bad">
              {error}
            </p>
          )}
          <button type="submit">Save evidence</button>
        </form>
      )}
    </section>
  );
}

/** The reviewers' queue: applications oldest first, admitted or rejected in bulk. */
function ReviewQueue() {
  const [applicants, setApplicants] = useState<Applicant[] | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const load = useCallback(async () => {
    setApplicants(await api.listApplicants());
    setSelected(new Set());
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const toggle = (id: string) => {
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) {
        next.delete(id);
      } else {
        next.add(id);
      }
      return next;
    });
  };
  const handleDecide = (decision: 'admit' | 'reject') => (event: FormEvent<HTMLButtonElement>) => {
    const form = event.currentTarget.form;
    const reason = form === null ? '' : formText(new FormData(form), 'reason');
    const count = selected.size;
    if (
      !window.confirm(
        `${decision === 'admit' ? 'Admit' : 'Reject'} ${count} ${count === 1 ? 'applicant' : 'applicants'}? Each is emailed.`,
      )
    ) {
      return;
    }
    setMessage(null);
    api.decideApplications([...selected], decision, reason).then(
      async (decided) => {
        setMessage(`${decided} ${decision === 'admit' ? 'admitted' : 'rejected'}.`);
        await load();
      },
      (caught: unknown) => {
        setMessage(problemOf(caught));
      },
    );
  };

  if (applicants === null) {
    return <p role="status">Loading…</p>;
  }
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Admission queue</h1>
      {message !== null && <p role="status">{message}</p>}
      {applicants.length === 0 ? (
        <p>No applications are waiting.</p>
      ) : (
        <form onSubmit={(event) => event.preventDefault()}>
          <table className="checks" data-testid="queue">
            <thead>
              <tr>
                <th scope="col">
                  <span className="skip">Select</span>
                </th>
                <th scope="col">Applicant</th>
                <th scope="col">Institution</th>
                <th scope="col">Purpose</th>
                <th scope="col">Training</th>
                <th scope="col">Applied</th>
              </tr>
            </thead>
            <tbody>
              {applicants.map((a) => (
                <tr key={a.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`select ${a.email}`}
                      checked={selected.has(a.id)}
                      onChange={() => toggle(a.id)}
                    />
                  </td>
                  <td>
                    {a.name}
                    <br />
                    <span className="muted">{a.email}</span>
                    {a.orcid !== null && (
                      <>
                        <br />
                        <span className="muted">ORCID {a.orcid}</span>
                      </>
                    )}
                  </td>
                  <td>
                    {a.institution}
                    <br />
                    <span className="muted">{a.institutionRole}</span>
                  </td>
                  <td>{a.researchPurpose}</td>
                  <td>
                    {a.evidence === null ? (
                      <span className="bad">none yet</span>
                    ) : (
                      `${a.evidence.certificateId}, until ${a.evidence.expiresOn}`
                    )}
                  </td>
                  <td>{a.appliedAt === null ? '—' : new Date(a.appliedAt).toLocaleDateString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <label>
            Reason (required to reject; the applicant reads it)
            <textarea name="reason" rows={2} />
          </label>
          <button type="button" disabled={selected.size === 0} onClick={handleDecide('admit')}>
            Admit selected
          </button>{' '}
          <button type="button" disabled={selected.size === 0} onClick={handleDecide('reject')}>
            Reject selected
          </button>
        </form>
      )}
    </section>
  );
}

/** /admission: the queue for reviewers, the waiting page for everyone else. */
export function AdmissionPage() {
  const { user } = useSession();
  if (user === undefined) {
    return <p role="status">Loading…</p>;
  }
  if (user === null) {
    return (
      <section>
        <h1>Admission</h1>
        <p>
          <a href="/sign-in?next=/admission">Sign in</a> to see your application.
        </p>
      </section>
    );
  }
  // The roles this session acts with: a reviewer signed in without a second factor is told so.
  if (can(user, 'admission.review')) {
    return <ReviewQueue />;
  }
  if (user.status === 'admitted' && !user.secondFactor.thisSession && user.secondFactor.required) {
    return (
      <section>
        <h1>Admission queue</h1>
        <p>
          Reviewing applications needs two-factor sign-in.{' '}
          {user.secondFactor.enabled ? (
            'Sign out, then sign in again with a code from your app.'
          ) : (
            <>
              Set it up on <a href="/account">your account page</a> first.
            </>
          )}
        </p>
      </section>
    );
  }
  return <WaitingPage />;
}
