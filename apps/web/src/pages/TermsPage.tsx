import { ApiError, type TermsStanding, type TermsVersion } from '@lantern/sdk';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { Markdown } from '../components/Markdown.js';
import { useSession } from '../session.js';

const problemOf = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail : 'the server cannot be reached';
const day = (iso: string) => new Date(iso).toLocaleDateString();

/**
 * /terms: the current terms for anyone to read, and for signed-in people where they stand and an
 * "I accept" button naming the version they read (the server refuses a version that is no longer
 * current, so nobody accepts words they did not see). /terms/versions/N shows an earlier version.
 */
export function TermsPage({ version }: { version?: number }) {
  const { user, refresh } = useSession();
  const [terms, setTerms] = useState<TermsVersion | null>(null);
  const [standing, setStanding] = useState<TermsStanding | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const found = user ? await api.getTermsStanding() : null;
      setStanding(found);
      setTerms(
        version !== undefined && version !== found?.current.version
          ? await api.getTermsVersion(version)
          : (found?.current ?? (await api.getCurrentTerms())),
      );
    } catch (caught) {
      setError(problemOf(caught));
    }
  }, [user, version]);

  useEffect(() => {
    if (user !== undefined) {
      void load();
    }
  }, [user, load]);

  const handleAccept = (version: number) => {
    setBusy(true);
    setError(null);
    api
      .acceptTerms(version)
      .then(async (found) => {
        setStanding(found);
        setTerms(found.current);
        await refresh();
      })
      .catch(async (caught: unknown) => {
        setError(problemOf(caught));
        // A newer version may have been published meanwhile: show it.
        await load();
      })
      .finally(() => {
        setBusy(false);
      });
  };

  if (terms === null) {
    return error === null ? <p role="status">Loading…</p> : <p role="alert">{error}</p>;
  }
  return (
    <article aria-labelledby="terms-title" className="terms">
      <h1 id="terms-title">{terms.title}</h1>
      <p className="muted" data-testid="terms-version">
        Version {terms.version}, published {day(terms.publishedAt)}
      </p>
      <div className="changes" data-testid="terms-changes">
        <h2>What changed</h2>
        <p>{terms.changes}</p>
      </div>
      <Markdown source={terms.body} />
      {version !== undefined && standing?.current.version !== terms.version ? (
        <p className="acceptance">
          This page keeps version {terms.version}; <a href="/terms">read the current terms</a>.
        </p>
      ) : (
        <div className="acceptance" data-testid="terms-standing">
          {user === null && (
            <p>
              <a href="/sign-in?next=/terms">Sign in</a> to accept them.
            </p>
          )}
          {standing?.upToDate === true && standing.accepted !== null && (
            <p role="status" className="good">
              You accepted version {standing.accepted.version} on {day(standing.accepted.at)}.
            </p>
          )}
          {standing !== null && !standing.upToDate && (
            <>
              <p>
                {standing.accepted === null
                  ? 'You have not accepted these terms yet. Until you do, you may read the catalogue but not touch any data.'
                  : `You accepted version ${standing.accepted.version}. Version ${terms.version} replaces it: until you accept it, you may not touch any data.`}
              </p>
              <button type="button" disabled={busy} onClick={() => handleAccept(terms.version)}>
                I accept version {terms.version}
              </button>
            </>
          )}
        </div>
      )}
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}
    </article>
  );
}
