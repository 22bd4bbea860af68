import { useEffect, useState } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { asSentence, useSession } from '../../session.js';
import { problemOf } from '../catalog/catalog-text.js';
import { projectPath } from './project-text.js';

/**
 * Where the invitation's link is kept while its invitee signs in: this tab's session storage, so
 * that the secret leaves the address bar (and any history or logs of it) and comes back with them.
 */
const KEPT = 'lantern.invitation';

/** The link's secret: from the address's fragment (then forgotten there), or kept from before. */
function takeToken(): string | null {
  const fromLink = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromLink !== null) {
    window.sessionStorage.setItem(KEPT, fromLink);
    window.history.replaceState(null, '', '/invitations');
    return fromLink;
  }
  return window.sessionStorage.getItem(KEPT);
}

type State =
  | { kind: 'ready' }
  | { kind: 'working' }
  | { kind: 'refused'; message: string }
  | { kind: 'joined'; id: string; title: string; role: string };

/**
 * /invitations#token=…: the page the emailed invitation opens. Signed in, the invitee accepts
 * and lands on the project; signed out, they sign in (or register with the invited address) and
 * come back here. The server's refusal says what is wrong: an expired, used or withdrawn link, a
 * different address, no admission or terms not accepted yet.
 */
export function InvitationPage({ navigate }: { navigate: (to: string) => void }) {
  const { user, signOut } = useSession();
  const [token] = useState(takeToken);
  const [state, setState] = useState<State>({ kind: 'ready' });

  useEffect(() => {
    if (state.kind === 'joined') {
      window.sessionStorage.removeItem(KEPT);
    }
  }, [state]);

  const handleAccept = () => {
    if (token === null) {
      return;
    }
    setState({ kind: 'working' });
    api.acceptProjectInvitation(token).then(
      (project) =>
        setState({ kind: 'joined', id: project.id, title: project.title, role: project.role }),
      (caught: unknown) => setState({ kind: 'refused', message: asSentence(problemOf(caught)) }),
    );
  };
  const handleSwitch = () => {
    void signOut().then(() => navigate('/sign-in?next=/invitations'));
  };

  let body;
  if (token === null) {
    body = (
      <p role="alert" className="bad" data-testid="invitation-problem">
        This page needs the whole link from the invitation email. Open the link again, or ask an
        owner of the project to invite you again.
      </p>
    );
  } else if (user === undefined) {
    body = <p role="status">Loading…</p>;
  } else if (user === null) {
    body = (
      <>
        <p>You were invited to a project on Lantern. Sign in to accept the invitation.</p>
        <p>
          <Link to="/sign-in?next=/invitations" navigate={navigate}>
            Sign in to accept
          </Link>
        </p>
        <p className="muted">
          No account yet?{' '}
          <Link to="/register" navigate={navigate}>
            Register with the address the invitation was sent to
          </Link>
          . Once reviewers admit you and you have accepted the terms, open the link in the email
          again (it works for seven days).
        </p>
      </>
    );
  } else if (state.kind === 'joined') {
    body = (
      <p role="status" data-testid="invitation-accepted">
        You joined{' '}
        <Link to={projectPath(state.id)} navigate={navigate}>
          {state.title}
        </Link>{' '}
        as {state.role === 'viewer' ? 'a' : 'an'} {state.role}.
      </p>
    );
  } else {
    body = (
      <>
        <p>
          You were invited to a project on Lantern. You are signed in as {user.name} ({user.email}).
        </p>
        {!user.termsAccepted && user.status === 'admitted' && (
          <p className="warn">
            Joining needs the current terms accepted:{' '}
            <Link to="/terms" navigate={navigate}>
              read and accept them
            </Link>{' '}
            first, then come back to this page.
          </p>
        )}
        {state.kind === 'refused' && (
          <div role="alert" className="bad" data-testid="invitation-problem">
            <p>{state.message}</p>
          </div>
        )}
        <p>
          <button type="button" disabled={state.kind === 'working'} onClick={handleAccept}>
            Accept the invitation
          </button>{' '}
          <button type="button" className="link" onClick={handleSwitch}>
            Sign in with another address
          </button>
        </p>
      </>
    );
  }
  return (
    <section aria-labelledby="invitation-title" className="narrow">
      <h1 id="invitation-title">Invitation to a project</h1>
      {body}
    </section>
  );
}
