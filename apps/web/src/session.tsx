import { isRole, permissionsOf, type Permission } from '@lantern/core';
import { type SessionDescription } from '@lantern/sdk';
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { api } from './api.js';

interface SessionState {
  /** undefined while loading, null when nobody is signed in. */
  user: SessionDescription | null | undefined;
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

/** Holds who is signed in, for every page. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionDescription | null | undefined>(undefined);
  const refresh = useCallback(async () => {
    try {
      setUser(await api.getSession());
    } catch {
      setUser(null);
    }
  }, []);
  const signOut = useCallback(async () => {
    await api.signOut();
    setUser(null);
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const value = useMemo(() => ({ user, refresh, signOut }), [user, refresh, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** The session of the page. */
export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === null) {
    throw new Error('useSession outside SessionProvider');
  }
  return state;
}

/**
 * Whether this session may do `permission` now: from the roles it acts with (`actingRoles`), which
 * leave out reviewer and admin until the person signs in with a second factor, and every role
 * until they are admitted. The server decides again on every request; this only shapes the page.
 */
export function can(user: SessionDescription | null | undefined, permission: Permission): boolean {
  return (
    user !== null &&
    user !== undefined &&
    permissionsOf(user.actingRoles.filter(isRole)).includes(permission)
  );
}

/**
 * Where to go after signing in: only a path on this site (no scheme, no `//host`, no backslash
 * tricks), so a crafted link cannot send people elsewhere (open redirect).
 */
export function safeReturnPath(value: string | null): string {
  if (value === null || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) {
    return '/';
  }
  return value;
}

/** A text field of a submitted form ('' when absent or a file). */
export function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

/** A server's lower-case phrase ("check your email …") as a sentence: capitalised, with a stop. */
export function asSentence(phrase: string): string {
  return `${phrase.charAt(0).toUpperCase()}${phrase.slice(1)}.`;
}
