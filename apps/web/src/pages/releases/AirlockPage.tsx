import type { ReleaseState } from '@lantern/core/releases';
import { useCallback, useState } from 'react';
import { api } from '../../api.js';
import { ViewButtons } from '../../components/ViewButtons.js';
import { can, useSession } from '../../session.js';
import { ReleaseTable, useReleasePages } from './ReleaseList.js';

interface View {
  state: ReleaseState;
  label: string;
  empty: string;
}

/** The queue: what waits for a decision, oldest first. */
const WAITING: View = { state: 'pending', label: 'Waiting', empty: 'No request is waiting.' };

/** The views of the airlock: the queue, and what was decided or withdrawn (newest first). */
const VIEWS: readonly View[] = [
  WAITING,
  { state: 'approved', label: 'Approved', empty: 'None approved yet.' },
  { state: 'rejected', label: 'Rejected', empty: 'None rejected yet.' },
  { state: 'withdrawn', label: 'Withdrawn', empty: 'None withdrawn yet.' },
];

/** The requests of every project in one state, for a reviewer allowed to read them. */
function Queue({ view, navigate }: { view: View; navigate: (to: string) => void }) {
  const read = useCallback(
    (page: { cursor?: string }) => api.listReleaseQueue({ state: view.state, ...page }),
    [view.state],
  );
  const { releases, next, problem, busy, loadMore } = useReleasePages(read);
  return (
    <>
      {problem !== null && (
        <p role="alert" className="bad" data-testid="airlock-problem">
          {problem}
        </p>
      )}
      {releases === null ? (
        problem === null && <p role="status">Loading the queue…</p>
      ) : releases.length === 0 ? (
        <p data-testid="airlock-empty">{view.empty}</p>
      ) : (
        <ReleaseTable
          releases={releases}
          next={next}
          busy={busy}
          onMore={loadMore}
          withProject
          navigate={navigate}
          testId="airlock-queue"
        />
      )}
    </>
  );
}

/**
 * /airlock (reviewers and admins): the release requests waiting for a decision, oldest first,
 * each opening its page, where the files, the disclosure checks and the previews are read and the
 * decision is taken; and those approved, rejected or withdrawn, newest first.
 */
export function AirlockPage({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
  const [view, setView] = useState(WAITING);
  return (
    <section aria-labelledby="airlock-title">
      <h1 id="airlock-title">Airlock</h1>
      {can(user, 'release.review') ? (
        <>
          <p className="muted">
            Results researchers ask to take out of the platform. Open each request, read its files
            and the automated checks (they help, they never decide), then approve or reject it with
            a reason.
          </p>
          <ViewButtons label="Which requests" views={VIEWS} shown={view} onShow={setView} />
          {/* A new list for each view: nothing of the last one shows while the next is read. */}
          <Queue key={view.state} view={view} navigate={navigate} />
        </>
      ) : (
        <p>The airlock queue is for reviewers signed in with their second factor.</p>
      )}
    </section>
  );
}
