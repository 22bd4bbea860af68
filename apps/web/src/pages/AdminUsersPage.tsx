import { ApiError, type ListUsersQuery, type ManagedUser } from '@lantern/sdk';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { can, formText, useSession } from '../session.js';

const ROLES = ['researcher', 'curator', 'reviewer', 'admin', 'partner'] as const;
const STATUSES = ['unverified', 'pending', 'admitted', 'rejected', 'suspended'] as const;
const PAGE = 25;

const problemOf = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail : 'the server cannot be reached';

type Detail = ManagedUser & { sessions: number; tokens: number };

/** One person, with what an admin may do to them, each change behind a confirmation. */
function UserDetail({ id, onChanged }: { id: string; onChanged: (user: ManagedUser) => void }) {
  const [user, setUser] = useState<Detail | null>(null);
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const load = useCallback(async () => {
    try {
      setUser(await api.getUser(id));
    } catch (caught) {
      setMessage({ text: problemOf(caught), bad: true });
    }
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);

  const run = (question: string, change: () => Promise<ManagedUser>, done: string) => {
    if (!window.confirm(question)) {
      return;
    }
    setMessage(null);
    change().then(
      async (changed) => {
        onChanged(changed);
        setMessage({ text: done, bad: false });
        await load();
      },
      (caught: unknown) => {
        setMessage({ text: problemOf(caught), bad: true });
      },
    );
  };

  if (user === null) {
    return message === null ? <p role="status">Loading…</p> : <p role="alert">{message.text}</p>;
  }
  const handleSuspend = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = formText(new FormData(event.currentTarget), 'reason');
    run(
      `Suspend ${user.email}? Their ${user.sessions} sessions and ${user.tokens} API tokens end now, and they are emailed the reason.`,
      () => api.suspendUser(user.id, reason),
      `${user.email} is suspended.`,
    );
  };
  const handleReinstate = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const note = formText(new FormData(event.currentTarget), 'note');
    run(
      `Reinstate ${user.email} as ${user.suspension?.returnsTo ?? 'before'}? They are emailed and sign in again.`,
      () => api.reinstateUser(user.id, note),
      `${user.email} is reinstated.`,
    );
  };
  const handleRoles = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const roles = ROLES.filter((role) => form.get(role) === 'on');
    run(
      `Give ${user.email} exactly these roles: ${roles.length === 0 ? 'none' : roles.join(', ')}?`,
      () => api.setUserRoles(user.id, roles),
      'Roles saved.',
    );
  };
  const handleDelegation = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const partners = formText(new FormData(event.currentTarget), 'partners')
      .split('\n')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    run(
      partners.length === 0
        ? `${user.email} answers no partner's access requests any more?`
        : `${user.email} answers the access requests to datasets of ${partners.join(', ')}?`,
      () => api.setUserDelegatePartners(user.id, partners),
      'Delegation saved.',
    );
  };
  const handleReset = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = formText(new FormData(event.currentTarget), 'reason');
    run(
      `Reset the two-factor sign-in of ${user.email}? Do this only after confirming who is asking, out of band. Their sessions end.`,
      () => api.resetUserSecondFactor(user.id, reason),
      'Two-factor sign-in reset.',
    );
  };

  return (
    <div className="panel" data-testid="user-detail">
      <h2>{user.name}</h2>
      <p>
        {user.email} · {user.status} · {user.sessions} live{' '}
        {user.sessions === 1 ? 'session' : 'sessions'}, {user.tokens} API{' '}
        {user.tokens === 1 ? 'token' : 'tokens'} · two-factor {user.secondFactor ? 'on' : 'off'}
      </p>
      {user.suspension !== null && (
        <p className="bad">
          Suspended {new Date(user.suspension.at).toLocaleString()}: {user.suspension.reason}
        </p>
      )}
      {message !== null && (
        <p role={message.bad ? 'alert' : 'status'} className={message.bad ? 'bad' : ''}>
          {message.text}
        </p>
      )}
      {user.status === 'suspended' ? (
        <form key="reinstate" onSubmit={handleReinstate}>
          <label>
            Note to the person (optional)
            <textarea name="note" rows={2} />
          </label>
          <button type="submit">Reinstate</button>
        </form>
      ) : (
        <form key="suspend" onSubmit={handleSuspend}>
          <label>
            Reason for suspending (the person reads it)
            <textarea name="reason" rows={2} required minLength={3} />
          </label>
          <button type="submit" className="danger">
            Suspend
          </button>
        </form>
      )}
      <form onSubmit={handleRoles}>
        <fieldset>
          <legend>Roles</legend>
          {ROLES.map((role) => (
            <label key={role} className="inline">
              <input type="checkbox" name={role} defaultChecked={user.roles.includes(role)} />{' '}
              {role}
            </label>
          ))}
        </fieldset>
        <button type="submit">Save roles</button>
      </form>
      <form onSubmit={handleDelegation}>
        <label>
          Partner delegate for (one partner name a line, as datasets list them; with the partner
          role, they answer access requests to those partners&apos; restricted datasets)
          <textarea name="partners" rows={2} defaultValue={user.delegatePartners.join('\n')} />
        </label>
        <button type="submit">Save delegation</button>
      </form>
      {user.secondFactor && (
        <form onSubmit={handleReset}>
          <label>
            Why reset their two-factor sign-in (lost device)?
            <textarea name="reason" rows={2} required minLength={3} />
          </label>
          <button type="submit" className="danger">
            Reset two-factor sign-in
          </button>
        </form>
      )}
    </div>
  );
}

/** /admin/users: find people, and suspend, reinstate, give roles or reset a lost second factor. */
export function AdminUsersPage() {
  const { user } = useSession();
  const [query, setQuery] = useState<ListUsersQuery>({ limit: PAGE });
  const [users, setUsers] = useState<ManagedUser[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  // The filters last chosen: an answer to earlier ones (the first list, still loading when a
  // filter is submitted on a slow connection) must not replace or extend the list of these.
  const latest = useRef(query);
  useEffect(() => {
    latest.current = query;
  }, [query]);
  const fetchPage = useCallback(
    async (cursor: string | null) => {
      try {
        const page = await api.listUsers(cursor === null ? query : { ...query, cursor });
        if (latest.current !== query) {
          return;
        }
        setUsers((current) => (cursor === null ? page.users : [...(current ?? []), ...page.users]));
        setNext(page.next);
        setError(null);
      } catch (caught) {
        if (latest.current === query) {
          setError(problemOf(caught));
        }
      }
    },
    [query],
  );
  const allowed = can(user, 'user.manage');
  useEffect(() => {
    if (allowed) {
      void fetchPage(null);
    }
  }, [fetchPage, allowed]);

  if (user === undefined) {
    return <p role="status">Loading…</p>;
  }
  if (user === null) {
    return (
      <section>
        <h1>People</h1>
        <p>
          <a href="/sign-in?next=/admin/users">Sign in</a> as an admin.
        </p>
      </section>
    );
  }
  if (!allowed) {
    return (
      <section>
        <h1>People</h1>
        <p>Managing people needs the admin role, from a session signed in with two-factor.</p>
      </section>
    );
  }
  const handleFilter = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const status = formText(form, 'status');
    const role = formText(form, 'role');
    const q = formText(form, 'q').trim();
    setOpen(null);
    const chosenStatus = STATUSES.find((s) => s === status);
    const chosenRole = ROLES.find((r) => r === role);
    setQuery({
      limit: PAGE,
      ...(q === '' ? {} : { q }),
      ...(chosenStatus === undefined ? {} : { status: chosenStatus }),
      ...(chosenRole === undefined ? {} : { role: chosenRole }),
    });
  };
  const replace = (changed: ManagedUser) => {
    setUsers((current) => current?.map((u) => (u.id === changed.id ? changed : u)) ?? null);
  };

  return (
    <section aria-labelledby="people-title">
      <h1 id="people-title">People</h1>
      <form className="filters" onSubmit={handleFilter} role="search">
        <label>
          Name, email or institution
          <input name="q" type="search" />
        </label>
        <label>
          Status
          <select name="status" defaultValue="">
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Role
          <select name="role" defaultValue="">
            <option value="">any</option>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}
      {users !== null && users.length === 0 && <p>No one matches these filters.</p>}
      {users !== null && users.length > 0 && (
        <table className="checks" data-testid="people">
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Institution</th>
              <th scope="col">Status</th>
              <th scope="col">Roles</th>
              <th scope="col">Two-factor</th>
              <th scope="col">Joined</th>
              <th scope="col">
                <span className="skip">Manage</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <td>
                  {u.name}
                  <br />
                  <span className="muted">{u.email}</span>
                </td>
                <td>{u.institution ?? '—'}</td>
                <td className={u.status === 'suspended' ? 'bad' : ''}>{u.status}</td>
                <td>{u.roles.join(', ') || '—'}</td>
                <td>{u.secondFactor ? 'on' : 'off'}</td>
                <td>{new Date(u.createdAt).toLocaleDateString()}</td>
                <td>
                  <button
                    type="button"
                    aria-expanded={open === u.id}
                    aria-label={`manage ${u.email}`}
                    onClick={() => setOpen(open === u.id ? null : u.id)}
                  >
                    {open === u.id ? 'Close' : 'Manage'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open !== null && <UserDetail key={open} id={open} onChanged={replace} />}
      {next !== null && (
        <button type="button" onClick={() => void fetchPage(next)}>
          Load more
        </button>
      )}
    </section>
  );
}
