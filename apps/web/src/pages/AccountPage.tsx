import { permissionsOf, isRole, type Permission } from '@lantern/core';
import { ApiError, type ApiToken, type SessionInfo } from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { TwoFactorSection } from '../components/TwoFactorSection.js';
import { formText, useSession } from '../session.js';

const when = (iso: string | null) => (iso === null ? '—' : new Date(iso).toLocaleString());
const problemOf = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail : 'the server cannot be reached';

/** Your sessions and API tokens. */
export function AccountPage({ navigate }: { navigate: (to: string) => void }) {
  const { user, refresh } = useSession();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [s, t] = await Promise.all([api.listSessions(), api.listApiTokens()]);
      setSessions(s);
      setTokens(t);
    } catch (caught) {
      setError(problemOf(caught));
    }
  }, []);

  useEffect(() => {
    if (user) {
      void load();
    }
  }, [user, load]);

  if (user === undefined) {
    return <p role="status">Loading…</p>;
  }
  if (user === null) {
    return (
      <section aria-labelledby="account-title">
        <h1 id="account-title">Your account</h1>
        <p>
          <a href="/sign-in?next=/account">Sign in</a> to see your sessions and API tokens.
        </p>
      </section>
    );
  }
  // A token can do no more than this session acts as (the server checks again).
  const grantable: Permission[] = permissionsOf(user.actingRoles.filter(isRole)).filter(
    (p) => p !== 'public',
  );

  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
      await load();
    } catch (caught) {
      setError(problemOf(caught));
    }
  };

  const handleEndSession = (session: SessionInfo) => {
    if (window.confirm('End this session? That browser will be signed out.')) {
      void run(() => api.revokeSession(session.id));
    }
  };
  const handleSignOutEverywhere = () => {
    if (window.confirm('Sign out of every browser, this one included?')) {
      void api.signOutEverywhere().then(async () => {
        await refresh();
        navigate('/sign-in');
      });
    }
  };
  const handleRevokeToken = (token: ApiToken) => {
    if (window.confirm(`Revoke the token "${token.name}"? Anything using it stops working.`)) {
      void run(() => api.revokeApiToken(token.id));
    }
  };
  const handleCreateToken = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const scope = grantable.filter((p) => form.get(`scope-${p}`) === 'on');
    const name = formText(form, 'name');
    const days = Number(formText(form, 'days'));
    const target = event.currentTarget;
    void run(async () => {
      const made = await api.createApiToken({ name, scope, expiresInDays: days });
      setCreated({ name, token: made.token });
      target.reset();
    });
  };

  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Your account</h1>
      <p data-testid="account-summary">
        {user.name} · {user.email} ·{' '}
        {user.status === 'admitted'
          ? `roles: ${user.roles.join(', ') || 'none'}`
          : // Roles mean nothing until admission: say where the application stands instead.
            user.status === 'unverified'
            ? 'email not confirmed yet'
            : user.status}
        {user.status === 'admitted' && user.actingRoles.length < user.roles.length && (
          <>
            {' '}
            (acting as {user.actingRoles.join(', ') || 'none'} until you sign in with a second
            factor)
          </>
        )}
      </p>
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}

      <TwoFactorSection user={user} />

      <h2>Sessions</h2>
      {sessions === null ? (
        <p role="status">Loading…</p>
      ) : (
        <table className="checks" data-testid="sessions">
          <thead>
            <tr>
              <th scope="col">Browser</th>
              <th scope="col">Address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last seen</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id}>
                <td>{s.userAgent ?? 'unknown'}</td>
                <td>{s.clientIp ?? '—'}</td>
                <td>{when(s.createdAt)}</td>
                <td>{when(s.lastSeenAt)}</td>
                <td>
                  {s.current ? (
                    <strong>this browser</strong>
                  ) : (
                    <button type="button" onClick={() => handleEndSession(s)}>
                      End
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p>
        <button type="button" onClick={handleSignOutEverywhere}>
          Sign out everywhere
        </button>
      </p>

      <h2>API tokens</h2>
      <p className="muted">
        For the <code>lantern</code> command and scripts. A token can only do what you chose for it,
        never more than you can; it is shown once.
      </p>
      {created !== null && (
        <div role="status" className="token-once" data-testid="new-token">
          <p>
            Copy the token <strong>{created.name}</strong> now; it will not be shown again:
          </p>
          <code>{created.token}</code>
        </div>
      )}
      {tokens !== null && tokens.length === 0 && <p>No tokens yet.</p>}
      {tokens !== null && tokens.length > 0 && (
        <table className="checks" data-testid="tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Can</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{t.scope.join(', ')}</td>
                <td>{when(t.expiresAt)}</td>
                <td>{when(t.lastUsedAt)}</td>
                <td>
                  {t.revokedAt === null ? (
                    <button type="button" onClick={() => handleRevokeToken(t)}>
                      Revoke
                    </button>
                  ) : (
                    'revoked'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={handleCreateToken} className="narrow">
        <h3>New token</h3>
        <label>
          Name
          <input name="name" required maxLength={100} placeholder="laptop CLI" />
        </label>
        <fieldset>
          <legend>It may</legend>
          {grantable.map((p) => (
            <label key={p} className="inline">
              <input type="checkbox" name={`scope-${p}`} defaultChecked={p === 'account'} /> {p}
            </label>
          ))}
        </fieldset>
        <label>
          Expires after (days)
          <input name="days" type="number" min={1} max={365} defaultValue={90} required />
        </label>
        <button type="submit">Make token</button>
      </form>
    </section>
  );
}
