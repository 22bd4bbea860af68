import { ApiError } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { asSentence, formText } from '../session.js';

/**
 * "Forgot your password?": asks for the address and says that a link was sent if an account
 * exists — the server answers the same whether or not one does.
 */
export function ForgotPasswordPage() {
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const handleSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const { next } = await api.requestPasswordReset(formText(form, 'email'));
      setSent(next);
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

  if (sent !== null) {
    return (
      <section aria-labelledby="forgot-title" className="narrow">
        <h1 id="forgot-title">Check your email</h1>
        <p role="status">{asSentence(sent)}</p>
        <p className="muted">
          Nothing arrived? Look in your spam folder, and check the address you typed. Your password
          stays as it is until you use the link.
        </p>
      </section>
    );
  }
  return (
    <section aria-labelledby="forgot-title" className="narrow">
      <h1 id="forgot-title">Forgot your password?</h1>
      <p className="muted">
        Give the address of your account and we will email you a link to set a new password. It
        works once, within an hour.
      </p>
      <form onSubmit={(event) => void handleSubmit(event)} noValidate>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required autoFocus />
        </label>
        {error !== null && (
          <p role="alert" className="bad">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Email me a link'}
        </button>
      </form>
      <p className="muted">
        Remembered it? <a href="/sign-in">Sign in</a>.
      </p>
    </section>
  );
}
