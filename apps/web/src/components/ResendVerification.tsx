import { ApiError } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { asSentence, formText } from '../session.js';

/**
 * "Send me a new link": asks for a fresh verification link for an address. The server answers the
 * same whatever the address, so this says what it says, nothing more.
 */
export function ResendVerification({ email = '' }: { email?: string }) {
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const handleSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const { next } = await api.resendVerificationEmail(formText(form, 'email'));
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
      <p role="status" data-testid="resend-answer">
        {asSentence(sent)}
      </p>
    );
  }
  return (
    <form onSubmit={(event) => void handleSubmit(event)} noValidate aria-label="New link">
      <label>
        Your email address
        <input name="email" type="email" autoComplete="email" defaultValue={email} required />
      </label>
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Sending…' : 'Send me a new link'}
      </button>
    </form>
  );
}
