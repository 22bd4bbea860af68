import { ApiError } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { formText } from '../session.js';

/** The secret comes in the fragment (#token=…), which browsers never send to servers or in Referer. */
function tokenFromHash(): string {
  return new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
}

/** Choosing a password through a single-use link. */
export function SetPasswordPage({ navigate }: { navigate: (to: string) => void }) {
  const [token] = useState(tokenFromHash);
  const [problems, setProblems] = useState<string[]>([]);
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
    try {
      const { email } = await api.setPasswordWithLink(token, password);
      // Forget the secret in the address bar now that it is spent.
      window.history.replaceState(null, '', '/set-password');
      setDone(email);
    } catch (caught) {
      if (caught instanceof ApiError) {
        setProblems(caught.problem.errors?.map((e) => e.message) ?? [caught.problem.detail]);
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
        <p role="status">The password of {done} is set.</p>
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
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Set password'}
        </button>
      </form>
    </section>
  );
}
