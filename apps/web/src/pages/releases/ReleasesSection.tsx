import { api } from '../../api.js';
import { useCallback } from 'react';
import { ReleaseTable, useReleasePages } from './ReleaseList.js';

/** What a researcher runs in a notebook cell to ask for a release (the `ngsci` module's call). */
const REQUEST_SNIPPET = `import ngsci
ngsci.request_release(['/home/ngsci/project/results.csv'], purpose='…')`;

/**
 * The project page's Releases (issue 7): the project's release requests, newest first, each
 * linking to its page, with its state, files and how many the disclosure checks flag. Requests
 * are made from a notebook of the project, never here: the empty state says how.
 */
export function ReleasesSection({
  projectId,
  navigate,
}: {
  projectId: string;
  navigate: (to: string) => void;
}) {
  const read = useCallback(
    (page: { cursor?: string }) => api.listProjectReleases(projectId, page),
    [projectId],
  );
  const { releases, next, problem, busy, loadMore } = useReleasePages(read);
  return (
    <section aria-labelledby="releases-title" className="panel">
      <h2 id="releases-title">Releases</h2>
      <p className="muted">
        Results leave the platform only through a release: a reviewer reads the files and the
        automated checks, then approves or rejects with a reason; members download approved files.
      </p>
      {problem !== null && (
        <p role="alert" className="bad" data-testid="releases-problem">
          {problem}
        </p>
      )}
      {releases === null ? (
        problem === null && <p role="status">Loading the releases…</p>
      ) : releases.length === 0 ? (
        <div data-testid="releases-empty">
          <p>
            The project has no release requests yet. To ask for one, run this in a notebook of the
            project, naming the files (in /home/ngsci/project or your home) and why they should
            leave:
          </p>
          <pre className="snippet">
            <code>{REQUEST_SNIPPET}</code>
          </pre>
        </div>
      ) : (
        <ReleaseTable
          releases={releases}
          next={next}
          busy={busy}
          onMore={loadMore}
          withProject={false}
          navigate={navigate}
          testId="releases"
        />
      )}
    </section>
  );
}
