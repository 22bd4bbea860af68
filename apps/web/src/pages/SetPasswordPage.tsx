import { ApiError } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { formText } from '../session.js';

/** The secret comes in the fragment (#token=…), which browsers never send to servers or in Referer. */
function tokenFromHash(): string {
  return new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
}

/**
 * Choosing a password through a single-use link: the first admin's, or one asked for with "Forgot
 * your password?".
 */
export function SetPasswordPage({ navigate }: { navigate: (to: string) => void }) {
  const [token] = useState(tokenFromHash);
  const [problems, setProblems] = useState<string[]>([]);
  const [isBadLink, setIsBadLink] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const handleSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = formText(form, 'password');
    if (password !== formText(form, 'confirm')) {
      setProblems(['the two passwords differ']);
      return;
    }
    setBusy(true);
    setProblems([]);
    setIsBadLink(false);
    try {
      const { email } = await api.setPasswordWithLink(token, password);
      // Forget the secret in the address bar now that it is spent.
      window.history.replaceState(null, '', '/set-password');
      setDone(email);
    } catch (caught) {
      if (caught instanceof ApiError) {
        setProblems(caught.problem.errors?.map((e) => e.message) ?? [caught.problem.detail]);
        setIsBadLink(caught.code === 'not_found');
      } else {
        setProblems(['the server cannot be reached; try again']);
      }
    } finally {
      setBusy(false);
    }
  };

  if (done !== null) {
    return (
      <section aria-labelledby="set-password-title" className="narrow">
        <h1 id="set-password-title">Password set</h1>
        <p role="status">
          The password of {done} is set, and every session of the account has ended: sign in again
          wherever you use Lantern.
        </p>
        <button type="button" onClick={() => navigate('/sign-in')}>
          Sign in
        </button>
      </section>
    );
  }
  if (token === '') {
    return (
      <section aria-labelledby="set-password-title" className="narrow">
        <h1 id="set-password-title">Set a password</h1>
        <p role="alert">
          This page needs the link you were given; open it again from where you found it.
        </p>
        <p>
          Lost it, or did it expire? <a href="/forgot-password">Ask for a new link</a>.
        </p>
      </section>
    );
  }
  return (
    <section aria-labelledby="set-password-title" className="narrow">
      <h1 id="set-password-title">Set a password</h1>
      <p className="muted">
        At least 15 characters. Several unrelated words make a strong password that is easy to
        remember; no rules about digits or symbols.
      </p>
      <p className="muted">
        Setting it signs this account out everywhere, so anyone signed in with the old password is
        thrown out. Your API tokens keep working; revoke any you no longer trust on your account
        page. A second factor, if you have one, stays as it is.
      </p>
      <form onSubmit={(event) => void handleSubmit(event)} noValidate>
        <label>
          New password
          <input name="password" type="password" autoComplete="new-password" required autoFocus />
        </label>
        <label>
          Again
          <input name="confirm" type="password" autoComplete="new-password" required />
        </label>
        {problems.length > 0 && (
          <ul role="alert" className="bad">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        {isBadLink && (
          <p>
            <a href="/forgot-password">Ask for a new link</a>.
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Set password'}
        </button>
      </form>
    </section>
  );
}
