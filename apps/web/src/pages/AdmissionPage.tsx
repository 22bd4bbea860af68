import {
  ApiError,
  certificateFilePath,
  type AdmissionStanding,
  type Applicant,
  type CertificateFile,
  type ListApplicantsQuery,
} from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { can, formText, useSession } from '../session.js';

const problemOf = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail : 'the server cannot be reached';

/** The server's limit, checked here too so that nobody waits for a 12 MB upload to be refused. */
const MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024;
const CERTIFICATE_ACCEPT = 'application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg';

function formatSize(bytes: number): string {
  return bytes < 1024 * 1024
    ? `${Math.max(1, Math.round(bytes / 1024))} KB`
    : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const KINDS: Readonly<Record<string, string>> = {
  'application/pdf': 'PDF',
  'image/png': 'PNG',
  'image/jpeg': 'JPEG',
};

/** "scan.pdf (PDF, 120 KB), valid until 2027-06-30", linking to the file, opened in a new tab. */
function CertificateFileLink({ file, href }: { file: CertificateFile; href: string }) {
  return (
    <>
      <a href={href} target="_blank" rel="noopener noreferrer">
        {file.name}
      </a>{' '}
      <span className="muted">
        ({KINDS[file.mediaType] ?? file.mediaType}, {formatSize(file.size)}), valid until{' '}
        {file.expiresOn}
      </span>
    </>
  );
}

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

  const handleFile = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const file = form.get('certificateFile');
    setError(null);
    if (!(file instanceof File) || file.size === 0) {
      setError('choose the certificate file (PDF, PNG or JPEG)');
      return;
    }
    if (file.size > MAX_CERTIFICATE_BYTES) {
      setError(`this file is ${formatSize(file.size)}; a certificate file may be at most 10 MB`);
      return;
    }
    api
      .uploadCertificateFile(file, formText(form, 'fileExpiresOn'), file.name)
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
      {standing.status === 'pending' && (
        <form onSubmit={handleFile}>
          <h2>Or upload the certificate</h2>
          <p className="muted">A PDF, PNG or JPEG file of at most 10 MB. Either one is enough.</p>
          {standing.certificateFile !== null && (
            <p data-testid="certificate-file">
              File on file:{' '}
              <CertificateFileLink file={standing.certificateFile} href={certificateFilePath()} />.
              Uploading another replaces it.
            </p>
          )}
          <label>
            Certificate file
            <input name="certificateFile" type="file" accept={CERTIFICATE_ACCEPT} required />
          </label>
          <label>
            Certificate file expires on
            <input
              name="fileExpiresOn"
              type="date"
              required
              defaultValue={standing.certificateFile?.expiresOn ?? ''}
            />
          </label>
          <button type="submit">Upload file</button>
        </form>
      )}
    </section>
  );
}

type Status = NonNullable<ListApplicantsQuery['status']>;
type EvidenceFilter = NonNullable<ListApplicantsQuery['hasEvidence']> | 'any';

const TABS: readonly { status: Status; label: string }[] = [
  { status: 'pending', label: 'Waiting' },
  { status: 'admitted', label: 'Admitted' },
  { status: 'rejected', label: 'Rejected' },
];
const PAGE = 25;

/** The applicant's training evidence: the certificate id and the file, either or both. */
function Evidence({ applicant }: { applicant: Applicant }) {
  if (applicant.evidence === null && applicant.certificateFile === null) {
    return <span className="bad">none yet</span>;
  }
  return (
    <>
      {applicant.evidence !== null &&
        `${applicant.evidence.certificateId}, until ${applicant.evidence.expiresOn}`}
      {applicant.evidence !== null && applicant.certificateFile !== null && <br />}
      {applicant.certificateFile !== null && (
        <CertificateFileLink
          file={applicant.certificateFile}
          href={certificateFilePath(applicant.id)}
        />
      )}
    </>
  );
}

function Who({ applicant }: { applicant: Applicant }) {
  return (
    <>
      {applicant.name}
      <br />
      <span className="muted">{applicant.email}</span>
      {applicant.orcid !== null && (
        <>
          <br />
          <span className="muted">ORCID {applicant.orcid}</span>
        </>
      )}
    </>
  );
}

/**
 * The reviewers' queue: waiting applications oldest first, admitted or rejected in bulk; decided
 * ones newest first with who decided, when and why. Filters, and more rows a page at a time.
 */
function ReviewQueue() {
  const [status, setStatus] = useState<Status>('pending');
  const [search, setSearch] = useState('');
  const [evidence, setEvidence] = useState<EvidenceFilter>('any');
  const [applicants, setApplicants] = useState<Applicant[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);

  const query = useCallback(
    (cursor?: string): ListApplicantsQuery => ({
      status,
      limit: PAGE,
      ...(search.trim() === '' ? {} : { q: search.trim() }),
      ...(evidence === 'any' ? {} : { hasEvidence: evidence }),
      ...(cursor === undefined ? {} : { cursor }),
    }),
    [status, search, evidence],
  );
  const load = useCallback(async () => {
    try {
      const page = await api.listApplicants(query());
      setApplicants(page.applicants);
      setNextCursor(page.nextCursor);
    } catch (caught) {
      setMessage(problemOf(caught));
    }
    setSelected(new Set());
  }, [query]);
  useEffect(() => {
    void load();
  }, [load]);

  const handleMore = () => {
    if (nextCursor === null) {
      return;
    }
    api.listApplicants(query(nextCursor)).then(
      (page) => {
        setApplicants((current) => [...(current ?? []), ...page.applicants]);
        setNextCursor(page.nextCursor);
      },
      (caught: unknown) => {
        setMessage(problemOf(caught));
      },
    );
  };
  const handleFilter = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setSearch(formText(form, 'q'));
    const given = formText(form, 'hasEvidence');
    setEvidence(given === 'true' || given === 'false' ? given : 'any');
  };
  const handleTab = (next: Status) => () => {
    setMessage(null);
    setStatus(next);
  };
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

  const filtered = search.trim() !== '' || evidence !== 'any';
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Admission queue</h1>
      <div role="group" aria-label="Applications" className="tabs">
        {TABS.map((tab) => (
          <button
            key={tab.status}
            type="button"
            aria-pressed={status === tab.status}
            onClick={handleTab(tab.status)}
          >
            {tab.label}
          </button>
        ))}
      </div>
      <form onSubmit={handleFilter} className="filters" aria-label="Filter applications">
        <label>
          Search
          <input name="q" type="search" placeholder="name, email or institution" />
        </label>
        <label>
          Training evidence
          <select name="hasEvidence" defaultValue="any">
            <option value="any">any</option>
            <option value="true">on file</option>
            <option value="false">none yet</option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {message !== null && <p role="status">{message}</p>}
      {applicants === null ? (
        <p>Loading…</p>
      ) : applicants.length === 0 ? (
        <p data-testid="queue-empty">
          {filtered
            ? 'No applications match these filters.'
            : status === 'pending'
              ? 'No applications are waiting.'
              : `No applications have been ${status} yet.`}
        </p>
      ) : status === 'pending' ? (
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
                    <Who applicant={a} />
                  </td>
                  <td>
                    {a.institution}
                    <br />
                    <span className="muted">{a.institutionRole}</span>
                  </td>
                  <td>{a.researchPurpose}</td>
                  <td>
                    <Evidence applicant={a} />
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
      ) : (
        <table className="checks" data-testid="decided">
          <thead>
            <tr>
              <th scope="col">Applicant</th>
              <th scope="col">Institution</th>
              <th scope="col">Training</th>
              <th scope="col">Decision</th>
              <th scope="col">By</th>
              <th scope="col">When</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {applicants.map((a) => (
              <tr key={a.id}>
                <td>
                  <Who applicant={a} />
                </td>
                <td>{a.institution}</td>
                <td>
                  <Evidence applicant={a} />
                </td>
                <td className={a.status === 'rejected' ? 'bad' : 'good'}>{a.status}</td>
                <td>
                  {a.decidedBy === null ? (
                    '—'
                  ) : (
                    <>
                      {a.decidedBy.name ?? a.decidedBy.id}
                      <br />
                      <span className="muted">{a.decidedBy.email}</span>
                    </>
                  )}
                </td>
                <td>{a.decidedAt === null ? '—' : new Date(a.decidedAt).toLocaleString()}</td>
                <td>
                  {a.decisionReason === null || a.decisionReason === '' ? '—' : a.decisionReason}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor !== null && (
        <p>
          <button type="button" onClick={handleMore}>
            Load more
          </button>
        </p>
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
