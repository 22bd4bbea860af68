import { ApiError } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { formText, safeReturnPath, useSession } from '../session.js';

/** Email and password; on success, back to where the person was going. */
export function SignInPage({ navigate }: { navigate: (to: string) => void }) {
  const { user, refresh } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const handleSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await api.signIn(formText(form, 'email'), formText(form, 'password'));
      await refresh();
      navigate(safeReturnPath(new URLSearchParams(window.location.search).get('next')));
    } catch (caught) {
      setError(
        caught instanceof ApiError
          ? caught.problem.detail
          : 'the server cannot be reached; try again',
      );
    } finally {
      setBusy(false);
    }
  };

  if (user) {
    return (
      <section aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Signed in</h1>
        <p role="status">You are signed in as {user.email}.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="sign-in-title" className="narrow">
      <h1 id="sign-in-title">Sign in</h1>
      <form onSubmit={(event) => void handleSubmit(event)} noValidate>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error !== null && (
          <p role="alert" className="bad">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        <a href="/forgot-password">Forgot your password?</a>
      </p>
      <p className="muted">
        New here? <a href="/register">Apply for an account</a>.
      </p>
    </section>
  );
}
