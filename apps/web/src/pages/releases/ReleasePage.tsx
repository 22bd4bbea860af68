import type { Release, ReleaseFile, ReleasePreview } from '@lantern/sdk';
import { useEffect, useState } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { ReasonedDecision, reasonProblemOf } from '../../components/ReasonedDecision.js';
import { Said, type Message } from '../../components/Said.js';
import { asSentence, can, useSession } from '../../session.js';
import { problemOf } from '../catalog/catalog-text.js';
import { projectPath, when } from '../projects/project-text.js';
import { ChecksList, PreviewView } from './FilePreview.js';
import { StateBadge } from './ReleaseList.js';
import {
  counted,
  releaseFileContentPath,
  releaseFileImagePath,
  shortSha,
  sizeWords,
} from './release-text.js';

/** A file's preview, read from the server when the file is shown. */
function FilePreview({ release, file }: { release: Release; file: ReleaseFile }) {
  const [preview, setPreview] = useState<ReleasePreview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.previewReleaseFile(release.id, file.id).then(
      (found) => live && setPreview(found),
      (caught: unknown) => live && setProblem(asSentence(problemOf(caught))),
    );
    return () => {
      live = false;
    };
  }, [release.id, file.id]);
  if (problem !== null) {
    return (
      <p role="alert" className="bad" data-testid="preview-problem">
        {problem}
      </p>
    );
  }
  if (preview === null) {
    return <p role="status">Reading the preview of {file.name}…</p>;
  }
  return (
    <PreviewView
      name={file.name}
      preview={preview}
      imageUrl={releaseFileImagePath(release.id, file.id)}
    />
  );
}

/**
 * One file: its name, size and type, its SHA-256 (shortened; the whole digest on hover and
 * copied by a button, to compare with what was downloaded), the checks' warnings, a preview, and
 * for members of an approved request its download.
 */
function FileCard({ release, file }: { release: Release; file: ReleaseFile }) {
  const [copied, setCopied] = useState<Message>(null);
  const handleCopy = () => {
    // Through a promise: where the page is not a secure context there is no clipboard to call.
    Promise.resolve()
      .then(() => navigator.clipboard.writeText(file.sha256))
      .then(
        () => setCopied({ text: 'Copied.', bad: false }),
        () =>
          setCopied({
            text: `The browser refused to copy; the digest is ${file.sha256}.`,
            bad: true,
          }),
      );
  };
  return (
    <article
      className="release-file"
      data-testid={`file-${file.name}`}
      aria-labelledby={`file-${file.id}`}
    >
      <h3 id={`file-${file.id}`}>{file.name}</h3>
      <p>
        <span data-testid="file-size">{sizeWords(file.bytes)}</span>,{' '}
        <span className="muted">{file.mediaType}</span>; SHA-256{' '}
        <code className="sha" title={file.sha256} data-testid="file-sha">
          {shortSha(file.sha256)}
        </code>{' '}
        <button type="button" className="link" onClick={handleCopy}>
          Copy the SHA-256 of {file.name}
        </button>{' '}
        {copied !== null && (
          <span role={copied.bad ? 'alert' : 'status'} className={copied.bad ? 'bad' : 'good'}>
            {copied.text}
          </span>
        )}
      </p>
      {release.canDownload && (
        <p>
          <a
            className="button"
            href={releaseFileContentPath(release.id, file.id)}
            download={file.name}
          >
            Download {file.name}
          </a>
        </p>
      )}
      <ChecksList name={file.name} checks={file.checks} />
      <FilePreview release={release} file={file} />
    </article>
  );
}

/**
 * A reviewer's decision: approve or reject, with a reason the requester and the project's
 * members read (required), after a confirmation.
 */
function DecisionForm({
  release,
  onRelease,
}: {
  release: Release;
  onRelease: (release: Release, said: string) => void;
}) {
  const [problem, setProblem] = useState<string | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);
  const handleDecide = (approved: boolean, given: string) => {
    const reason = given.trim();
    setProblem(null);
    setMessage(null);
    if (reason === '') {
      setProblem('Give a reason: the requester and the project read it.');
      return;
    }
    const files = counted(release.fileCount, 'file');
    const question = approved
      ? `Approve the release of ${files} from "${release.projectTitle}"? The project's members can then download them.`
      : `Reject the release of ${files} from "${release.projectTitle}"? Nothing leaves; the requester reads your reason.`;
    if (!window.confirm(question)) {
      return;
    }
    setBusy(true);
    api.decideRelease(release.id, { approved, reason }).then(
      (decided) => {
        setBusy(false);
        onRelease(decided, `${approved ? 'Approved' : 'Rejected'}; the requester is emailed.`);
      },
      (caught: unknown) => {
        setBusy(false);
        const field = reasonProblemOf(caught);
        if (field === undefined) {
          setMessage({ text: asSentence(problemOf(caught)), bad: true });
        } else {
          setProblem(asSentence(`the reason: ${field}`));
        }
      },
    );
  };
  return (
    <div className="panel">
      <ReasonedDecision
        label="Decide the release"
        reasonId="decision-reason"
        reasonLabel="Reason (the requester and the project's members read it; required)"
        refuse="Reject"
        problem={problem}
        busy={busy}
        rows={3}
        onDecide={handleDecide}
      >
        <h2>Your decision</h2>
        <Said message={message} testId="decision-message" />
      </ReasonedDecision>
    </div>
  );
}

/** What a reviewer sees instead of the form: why they cannot decide this request. */
function NoDecision({ release, me }: { release: Release; me: string | undefined }) {
  if (release.state !== 'pending') {
    return null;
  }
  return (
    <p className="panel" data-testid="no-decision">
      {release.requestedBy.id === me
        ? 'You made this request: another reviewer decides it.'
        : 'You cannot decide this request.'}
    </p>
  );
}

/** The decision taken, with its reason; or that it waits for one, or was withdrawn. */
function DecisionFacts({ release }: { release: Release }) {
  if (release.decision !== null) {
    const { approved, by, at, reason } = release.decision;
    return (
      <p data-testid="release-decision">
        {approved ? 'Approved' : 'Rejected'} by {by.name} on <time dateTime={at}>{when(at)}</time>:{' '}
        <q>{reason}</q>
      </p>
    );
  }
  switch (release.state) {
    case 'pending':
      return <p data-testid="release-decision">Waiting for a reviewer.</p>;
    case 'withdrawn':
      return (
        <p data-testid="release-decision">
          Withdrawn{release.decidedAt === null ? '' : ` on ${when(release.decidedAt)}`}: nothing
          left the platform.
        </p>
      );
    case 'approved':
    case 'rejected':
      return null;
    default:
      return release.state satisfies never;
  }
}

/**
 * /releases/:id: a release request for the project's members and for reviewers — its purpose,
 * requester, state and decision, its files with sizes, digests, the disclosure checks and a
 * preview of each; for members a download of each file once approved, and Withdraw while it
 * waits (the requester or an owner); for reviewers the decision, unless it is their own request.
 * What is shown follows the server's `canDecide`, `canWithdraw` and `canDownload`; the server
 * decides again on every request.
 */
export function ReleasePage({ id, navigate }: { id: string; navigate: (to: string) => void }) {
  const { user } = useSession();
  const [release, setRelease] = useState<Release | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (user === undefined) {
      return;
    }
    let live = true;
    api.getRelease(id).then(
      (found) => live && setRelease(found),
      (caught: unknown) => live && setError(asSentence(problemOf(caught))),
    );
    return () => {
      live = false;
    };
  }, [id, user]);

  if (release === null) {
    return error === null ? (
      <p role="status">Loading…</p>
    ) : (
      <section aria-labelledby="release-title">
        <h1 id="release-title">Release request</h1>
        <p role="alert" className="bad" data-testid="release-problem">
          {error}
        </p>
      </section>
    );
  }

  const handleChanged = (changed: Release, said: string) => {
    setRelease(changed);
    setMessage({ text: said, bad: false });
  };
  const handleWithdraw = () => {
    if (
      !window.confirm(
        `Withdraw this request to release ${counted(release.fileCount, 'file')}? Nothing leaves; ask again from a notebook if you still need them.`,
      )
    ) {
      return;
    }
    setBusy(true);
    setMessage(null);
    api
      .withdrawRelease(release.id)
      .then(
        (withdrawn) => handleChanged(withdrawn, 'The request is withdrawn.'),
        (caught: unknown) => setMessage({ text: asSentence(problemOf(caught)), bad: true }),
      )
      .finally(() => setBusy(false));
  };

  const reviews = can(user, 'release.review');
  return (
    <article aria-labelledby="release-title" className="release">
      {/* Reviewers are seldom members: the project's page would answer them that it is not there. */}
      <p>
        {reviews ? (
          <>
            {release.projectTitle} ·{' '}
            <Link to="/airlock" navigate={navigate}>
              The airlock queue
            </Link>
          </>
        ) : (
          <Link to={projectPath(release.projectId)} navigate={navigate}>
            {release.projectTitle}
          </Link>
        )}
      </p>
      <h1 id="release-title">
        Release of {counted(release.fileCount, 'file')} <StateBadge state={release.state} />
      </h1>
      <Said message={message} testId="release-message" />
      <dl className="facts">
        <dt>Requested by</dt>
        <dd data-testid="release-requester">
          {release.requestedBy.name},{' '}
          <time dateTime={release.requestedAt}>{when(release.requestedAt)}</time>
          {release.instanceId !== null && (
            <span className="muted"> (from the instance {release.instanceId})</span>
          )}
        </dd>
        <dt>Size</dt>
        <dd>{sizeWords(release.totalBytes)}</dd>
      </dl>
      <h2 className="purpose-title">Purpose</h2>
      <blockquote className="purpose" data-testid="release-purpose">
        {release.purpose}
      </blockquote>
      <DecisionFacts release={release} />
      {release.canWithdraw && (
        <p>
          <button type="button" className="danger" disabled={busy} onClick={handleWithdraw}>
            Withdraw the request
          </button>
        </p>
      )}
      {release.canDecide ? (
        <DecisionForm release={release} onRelease={handleChanged} />
      ) : (
        reviews && <NoDecision release={release} me={user?.id} />
      )}
      <h2>Files</h2>
      {release.state !== 'approved' && (
        <p className="muted">
          {release.state === 'pending'
            ? 'The files can be downloaded once a reviewer approves them.'
            : 'Nothing of this request can be downloaded.'}
        </p>
      )}
      {release.files.map((file) => (
        <FileCard key={file.id} release={release} file={file} />
      ))}
    </article>
  );
}
