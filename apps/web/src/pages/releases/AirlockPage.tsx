import { can, useSession } from '../../session.js';
import { ReleaseTable, useReleasePages } from './ReleaseList.js';
import { listReleaseQueue } from './releases-api.js';

/** The queue of pending requests, oldest first, for a reviewer allowed to read it. */
function Queue({ navigate }: { navigate: (to: string) => void }) {
  const { releases, next, problem, busy, loadMore } = useReleasePages(listReleaseQueue);
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
        <p data-testid="airlock-empty">No request is waiting.</p>
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
 * decision is taken.
 */
export function AirlockPage({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
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
          <Queue navigate={navigate} />
        </>
      ) : (
        <p>The airlock queue is for reviewers signed in with their second factor.</p>
      )}
    </section>
  );
}
