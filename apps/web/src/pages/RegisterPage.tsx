import { ApiError } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { ResendVerification } from '../components/ResendVerification.js';
import { formText } from '../session.js';

const FIELDS = [
  { name: 'name', label: 'Full name', type: 'text', autoComplete: 'name' },
  { name: 'email', label: 'Email (at your institution)', type: 'email', autoComplete: 'email' },
  {
    name: 'password',
    label: 'Password (15 characters or more)',
    type: 'password',
    autoComplete: 'new-password',
  },
  { name: 'institution', label: 'Institution', type: 'text', autoComplete: 'organization' },
  {
    name: 'institutionRole',
    label: 'Your role there',
    type: 'text',
    autoComplete: 'organization-title',
  },
  { name: 'orcid', label: 'ORCID iD (optional)', type: 'text', autoComplete: 'off' },
] as const;

/** Applying for an account: who you are, where you work, what you want to study. */
export function RegisterPage() {
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [done, setDone] = useState<{ next: string; email: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const handleSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setProblems({});
    setGeneral(null);
    try {
      const orcid = formText(form, 'orcid');
      const email = formText(form, 'email');
      const { next } = await api.register({
        name: formText(form, 'name'),
        email,
        password: formText(form, 'password'),
        institution: formText(form, 'institution'),
        institutionRole: formText(form, 'institutionRole'),
        researchPurpose: formText(form, 'researchPurpose'),
        ...(orcid === '' ? {} : { orcid }),
      });
      setDone({ next, email });
    } catch (caught) {
      if (caught instanceof ApiError && caught.problem.errors !== undefined) {
        const byField: Record<string, string> = {};
        for (const e of caught.problem.errors) {
          const field = e.path.replace(/^body\./, '');
          byField[field] =
            byField[field] === undefined ? e.message : `${byField[field]}; ${e.message}`;
        }
        setProblems(byField);
      } else {
        setGeneral(
          caught instanceof ApiError
            ? caught.problem.detail
            : 'the server cannot be reached; try again',
        );
      }
    } finally {
      setBusy(false);
    }
  };

  if (done !== null) {
    return (
      <section aria-labelledby="register-title" className="narrow">
        <h1 id="register-title">Almost there</h1>
        <p role="status">
          Now {done.next}. Then an administrator reviews your application; you will hear from us
          either way.
        </p>
        <h2>No email?</h2>
        <p className="muted">
          Give it a few minutes and look in your spam folder. Still nothing, or the link expired?
        </p>
        <ResendVerification email={done.email} />
      </section>
    );
  }
  return (
    <section aria-labelledby="register-title" className="narrow">
      <h1 id="register-title">Apply for an account</h1>
      <p className="muted">
        Lantern is for non-commercial research. After you confirm your address, an administrator
        reviews each application.
      </p>
      <form onSubmit={(event) => void handleSubmit(event)} noValidate>
        {FIELDS.map((f) => (
          <label key={f.name}>
            {f.label}
            <input
              name={f.name}
              type={f.type}
              autoComplete={f.autoComplete}
              required={f.name !== 'orcid'}
              aria-invalid={problems[f.name] !== undefined}
              aria-describedby={problems[f.name] === undefined ? undefined : `${f.name}-problem`}
            />
            {problems[f.name] !== undefined && (
              <span id={`${f.name}-problem`} className="bad field-problem">
                {problems[f.name]}
              </span>
            )}
          </label>
        ))}
        <label>
          What do you want to study?
          <textarea
            name="researchPurpose"
            rows={4}
            required
            aria-invalid={problems['researchPurpose'] !== undefined}
          />
          {problems['researchPurpose'] !== undefined && (
            <span className="bad field-problem">{problems['researchPurpose']}</span>
          )}
        </label>
        {general !== null && (
          <p role="alert" className="bad">
            {general}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Apply'}
        </button>
      </form>
    </section>
  );
}
