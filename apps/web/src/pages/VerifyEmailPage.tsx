import { ApiError } from '@lantern/sdk';
import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { ResendVerification } from '../components/ResendVerification.js';

type State =
  { kind: 'working' } | { kind: 'done'; email: string } | { kind: 'failed'; message: string };

/** Opened from the emailed link: confirms the address at once (the secret is in the fragment). */
export function VerifyEmailPage() {
  const [state, setState] = useState<State>({ kind: 'working' });
  useEffect(() => {
    const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
    // Forget the secret in the address bar whatever happens next.
    window.history.replaceState(null, '', '/verify-email');
    api.verifyEmail(token).then(
      ({ email }) => {
        setState({ kind: 'done', email });
      },
      (caught: unknown) => {
        setState({
          kind: 'failed',
          message:
            caught instanceof ApiError ? caught.problem.detail : 'the server cannot be reached',
        });
      },
    );
  }, []);
  return (
    <section aria-labelledby="verify-title" className="narrow">
      <h1 id="verify-title">Confirm your address</h1>
      {state.kind === 'working' && <p role="status">Confirming…</p>}
      {state.kind === 'done' && (
        <p role="status">
          {state.email} is confirmed. An administrator will now review your application; you will
          hear from us either way.
        </p>
      )}
      {state.kind === 'failed' && (
        <>
          <p role="alert" className="bad">
            {state.message}
          </p>
          <p>Links work once, for 24 hours. We can send you a new one.</p>
          <ResendVerification />
        </>
      )}
    </section>
  );
}
