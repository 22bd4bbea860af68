import type { ReleasePage, ReleaseSummary } from '@lantern/sdk';
import { useCallback, useEffect, useState } from 'react';
import { Link } from '../../components/Link.js';
import { asSentence } from '../../session.js';
import { day, problemOf } from '../catalog/catalog-text.js';
import {
  counted,
  flaggedWords,
  purposeLine,
  RELEASE_STATE_WORDS,
  releasePath,
  sizeWords,
  stateBadgeClass,
} from './release-text.js';

/**
 * Release requests a page at a time, as the server hands them out (`next` is the cursor of the
 * following page, null on the last): the first page on opening and whenever `read` changes, and
 * the next on "Load more". The list is read again when the reader comes back to the tab (from the
 * notebook where a request is made), starting over from the first page.
 */
export function useReleasePages(read: (page: { cursor?: string }) => Promise<ReleasePage>) {
  const [releases, setReleases] = useState<ReleaseSummary[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reads, setReads] = useState(0);

  useEffect(() => {
    let live = true;
    read({}).then(
      (page) => {
        if (live) {
          setReleases(page.releases);
          setNext(page.next);
          setProblem(null);
        }
      },
      (caught: unknown) => live && setProblem(asSentence(problemOf(caught))),
    );
    return () => {
      live = false;
    };
  }, [read, reads]);

  useEffect(() => {
    const handleVisible = () => {
      if (document.visibilityState === 'visible') {
        setReads((n) => n + 1);
      }
    };
    document.addEventListener('visibilitychange', handleVisible);
    return () => document.removeEventListener('visibilitychange', handleVisible);
  }, []);

  const loadMore = useCallback(() => {
    if (next === null) {
      return;
    }
    setBusy(true);
    read({ cursor: next })
      .then(
        (page) => {
          setReleases((shown) => [...(shown ?? []), ...page.releases]);
          setNext(page.next);
          setProblem(null);
        },
        (caught: unknown) => setProblem(asSentence(problemOf(caught))),
      )
      .finally(() => setBusy(false));
  }, [next, read]);

  return { releases, next, problem, busy, loadMore };
}

/** A request's state as a coloured badge with its words. */
export function StateBadge({ state }: { state: ReleaseSummary['state'] }) {
  return (
    <span className={stateBadgeClass(state)} data-testid="release-state">
      {RELEASE_STATE_WORDS[state]}
    </span>
  );
}

/**
 * A table of release requests, each linking to its page: purpose, who asked and when, its state,
 * its files and how many the checks flag; the project too where the list spans projects (the
 * reviewers' queue). "Load more" reads the next page while there is one.
 */
export function ReleaseTable({
  releases,
  next,
  busy,
  onMore,
  withProject,
  navigate,
  testId,
}: {
  releases: ReleaseSummary[];
  next: string | null;
  busy: boolean;
  onMore: () => void;
  withProject: boolean;
  navigate: (to: string) => void;
  testId: string;
}) {
  return (
    <>
      <table className="checks" data-testid={testId}>
        <thead>
          <tr>
            <th scope="col">Purpose</th>
            {withProject && <th scope="col">Project</th>}
            <th scope="col">Requested by</th>
            <th scope="col">State</th>
            <th scope="col">Files</th>
            <th scope="col">Checks</th>
          </tr>
        </thead>
        <tbody>
          {releases.map((release) => (
            <tr key={release.id} data-testid={`release-${release.id}`}>
              <th scope="row" className="release-purpose">
                <Link to={releasePath(release.id)} navigate={navigate}>
                  {purposeLine(release.purpose)}
                </Link>
              </th>
              {withProject && <td>{release.projectTitle}</td>}
              <td>
                {release.requestedBy.name}
                <div className="muted">
                  <time dateTime={release.requestedAt}>{day(release.requestedAt)}</time>
                </div>
              </td>
              <td>
                <StateBadge state={release.state} />
              </td>
              <td data-testid="release-files">
                {counted(release.fileCount, 'file')}, {sizeWords(release.totalBytes)}
              </td>
              <td
                className={release.flaggedFiles > 0 ? 'warn' : 'muted'}
                data-testid="release-flagged"
              >
                {flaggedWords(release.flaggedFiles)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <p>
          <button type="button" disabled={busy} onClick={onMore}>
            {busy ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </>
  );
}
