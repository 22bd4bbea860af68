import { ApiError } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { formText } from '../session.js';

/**
 * A form that asks the server to email a link to the address in its `email` field (a new
 * verification link, a password reset). The server answers the same whatever the address, so the
 * page shows that answer (`sent`) and nothing more.
 */
export function useLinkRequest(ask: (email: string) => Promise<{ next: string }>) {
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const handleSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      setSent((await ask(formText(form, 'email'))).next);
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
  return {
    sent,
    error,
    busy,
    onSubmit: (event: FormEvent<HTMLFormElement>) => void handleSubmit(event),
  };
}
