import { api } from '../api.js';
import { useLinkRequest } from './link-request.js';
import { asSentence } from '../session.js';

/**
 * "Send me a new link": asks for a fresh verification link for an address. The server answers the
 * same whatever the address, so this says what it says, nothing more.
 */
export function ResendVerification({ email = '' }: { email?: string }) {
  const { sent, error, busy, onSubmit } = useLinkRequest((email) =>
    api.resendVerificationEmail(email),
  );

  if (sent !== null) {
    return (
      <p role="status" data-testid="resend-answer">
        {asSentence(sent)}
      </p>
    );
  }
  return (
    <form onSubmit={onSubmit} noValidate aria-label="New link">
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
