import { api } from '../api.js';
import { useLinkRequest } from '../components/link-request.js';
import { asSentence } from '../session.js';

/**
 * "Forgot your password?": asks for the address and says that a link was sent if an account
 * exists — the server answers the same whether or not one does.
 */
export function ForgotPasswordPage() {
  const { sent, error, busy, onSubmit } = useLinkRequest((email) =>
    api.requestPasswordReset(email),
  );

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
      <form onSubmit={onSubmit} noValidate>
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
