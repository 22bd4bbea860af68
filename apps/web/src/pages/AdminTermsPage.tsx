import { ApiError, type TermsHistoryEntry } from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { Markdown } from '../components/Markdown.js';
import { can, formText, useSession } from '../session.js';

const problemOf = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail : 'the server cannot be reached';

/** The history of the terms with acceptance counts, and a form to publish the next version. */
function TermsAdmin() {
  const { refresh } = useSession();
  const [versions, setVersions] = useState<TermsHistoryEntry[] | null>(null);
  const [body, setBody] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const found = await api.listTermsVersions();
      setVersions(found);
      // Start from the current text: a new version is most often an edit of the last one.
      setBody((current) => current ?? found[0]?.body ?? '');
    } catch (caught) {
      setError(problemOf(caught));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  if (versions === null || body === null) {
    return error === null ? <p role="status">Loading…</p> : <p role="alert">{error}</p>;
  }
  const latest = versions[0];
  const next = (latest?.version ?? 0) + 1;

  const handlePublish = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    if (
      !window.confirm(
        `Publish version ${next}? Everyone, you included, will have to accept it again before touching data.`,
      )
    ) {
      return;
    }
    setBusy(true);
    setError(null);
    setMessage(null);
    api
      .publishTerms({ title: formText(form, 'title'), body, changes: formText(form, 'changes') })
      .then(async (published) => {
        setMessage(
          `Version ${published.version} is published; everyone is asked to accept it again.`,
        );
        await Promise.all([load(), refresh()]);
      })
      .catch((caught: unknown) => {
        setError(problemOf(caught));
      })
      .finally(() => {
        setBusy(false);
      });
  };

  return (
    <section aria-labelledby="admin-terms-title">
      <h1 id="admin-terms-title">Terms: versions</h1>
      {message !== null && <p role="status">{message}</p>}
      <table className="checks" data-testid="terms-history">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Title</th>
            <th scope="col">Published</th>
            <th scope="col">What changed</th>
            <th scope="col">Accepted by</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version}>
              <td>{v.version}</td>
              <td>
                <a href={`/terms/versions/${v.version}`}>{v.title}</a>
              </td>
              <td>{new Date(v.publishedAt).toLocaleString()}</td>
              <td>{v.changes}</td>
              <td>
                {v.acceptances} {v.acceptances === 1 ? 'person' : 'people'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <form onSubmit={handlePublish} aria-labelledby="publish-title">
        <h2 id="publish-title">Publish version {next}</h2>
        <p className="muted">
          A published version never changes. Once this one is out, nobody touches data until they
          have accepted it.
        </p>
        <label>
          Title
          <input
            name="title"
            required
            minLength={3}
            maxLength={200}
            defaultValue={latest?.title ?? ''}
          />
        </label>
        <div className="editor">
          <label>
            Text (Markdown)
            <textarea
              name="body"
              rows={18}
              required
              value={body}
              onChange={(event) => setBody(event.target.value)}
            />
          </label>
          <div aria-labelledby="preview-title">
            <p id="preview-title" className="label">
              Preview
            </p>
            <div className="preview" data-testid="terms-preview">
              <Markdown source={body} />
            </div>
          </div>
        </div>
        <label>
          What changed (people read this first)
          <textarea name="changes" rows={3} required minLength={3} maxLength={2000} />
        </label>
        {error !== null && (
          <p role="alert" className="bad">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Publishing…' : `Publish version ${next}`}
        </button>
      </form>
    </section>
  );
}

/** /admin/terms, for those who manage the terms (admins acting with a second factor). */
export function AdminTermsPage() {
  const { user } = useSession();
  if (user === undefined) {
    return <p role="status">Loading…</p>;
  }
  if (!can(user, 'terms.manage')) {
    return (
      <section>
        <h1>Terms: versions</h1>
        <p>
          {user === null ? (
            <>
              <a href="/sign-in?next=/admin/terms">Sign in</a> as an administrator to manage the
              terms.
            </>
          ) : (
            'This page is for administrators signed in with two-factor sign-in.'
          )}
        </p>
      </section>
    );
  }
  return <TermsAdmin />;
}
