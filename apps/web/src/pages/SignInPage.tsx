import { ApiError } from '@lantern/sdk';
import { useRef, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { asSentence, formText, safeReturnPath, useSession } from '../session.js';

/**
 * Email and password, then a code when the account has two-factor sign-in; on success, back to
 * where the person was going.
 */
export function SignInPage({ navigate }: { navigate: (to: string) => void }) {
  const { user, refresh } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Set once the server asked for a second factor: the code field stays from then on.
  const [codePrompt, setCodePrompt] = useState<string | null>(null);
  const [recovery, setRecovery] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);

  const handleSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const code = formText(form, 'code').trim();
    setBusy(true);
    setError(null);
    try {
      await api.signIn(
        formText(form, 'email'),
        formText(form, 'password'),
        code === '' ? undefined : code,
      );
      await refresh();
      navigate(safeReturnPath(new URLSearchParams(window.location.search).get('next')));
    } catch (caught) {
      if (caught instanceof ApiError && caught.code === 'second_factor_required') {
        // The first time, the server's answer is the prompt; after that, it says what was wrong
        // (no code, or a wrong or used one).
        if (codePrompt === null) {
          setCodePrompt(asSentence(caught.problem.detail));
        } else {
          setError(caught.problem.detail);
          if (codeInput.current !== null) {
            codeInput.current.value = '';
          }
        }
        codeInput.current?.focus();
      } else {
        setError(
          caught instanceof ApiError
            ? caught.problem.detail
            : 'the server cannot be reached; try again',
        );
      }
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
        {codePrompt !== null && (
          <div className="second-factor">
            <p id="code-prompt" role="status">
              {codePrompt}
            </p>
            <label>
              {recovery ? 'Recovery code' : 'Code from your authenticator app'}
              <input
                ref={codeInput}
                name="code"
                // A code from the app is six digits (numeric keyboard on phones); a recovery code
                // has letters, so that mode asks for text.
                inputMode={recovery ? 'text' : 'numeric'}
                autoComplete="one-time-code"
                autoCapitalize="off"
                spellCheck={false}
                maxLength={20}
                required
                autoFocus
                aria-describedby="code-prompt"
                aria-invalid={error !== null}
              />
            </label>
            <button
              type="button"
              className="link"
              onClick={() => {
                setRecovery(!recovery);
                codeInput.current?.focus();
              }}
            >
              {recovery ? 'Use a code from the app instead' : 'Use a recovery code instead'}
            </button>
          </div>
        )}
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
