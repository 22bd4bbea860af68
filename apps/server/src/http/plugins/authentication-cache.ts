/**
 * A short memory of who a credential belongs to, for routes that see many small requests from the
 * same person in a row: the instance proxy, where a notebook page makes dozens of API calls and the
 * session lookup would otherwise cost more than forwarding them. A credential's answer is kept for
 * AUTHENTICATION_CACHE_MS at most, so a revoked session, a suspension or a role change reaches
 * those routes within that time (JupyterHub keeps its answers for 5 minutes). Only successful
 * answers are kept; a credential that fails is looked up every time.
 */
import { hash } from 'node:crypto';
import type { RequestContext } from '../../request-context.js';

/** How long a credential's answer is kept. */
export const AUTHENTICATION_CACHE_MS = 5_000;
/** Credentials remembered at most; the oldest are forgotten first. */
const MAX_ENTRIES = 10_000;

export type Authenticated = Pick<RequestContext, 'principal' | 'authenticatedBy' | 'tokenId'>;

export interface CredentialHeaders {
  authorization?: string | undefined;
  cookie?: string | undefined;
}

export class AuthenticationCache {
  private readonly entries = new Map<string, { found: Authenticated; until: number }>();

  constructor(
    /** Looks the credential up every time (what the cache remembers the answers of). */
    readonly lookup: (headers: CredentialHeaders, clientIp: string) => Promise<Authenticated>,
    private readonly ttlMs = AUTHENTICATION_CACHE_MS,
  ) {}

  /**
   * Who the headers' credential belongs to when it was looked up less than ttlMs ago; undefined
   * otherwise (then `authenticate` looks it up). Synchronous: a request whose caller is known
   * waits for nothing.
   */
  recall(headers: CredentialHeaders, now: number): Authenticated | undefined {
    const key = credentialKey(headers);
    return key === null ? undefined : this.fresh(key, now);
  }

  /** Who the headers' credential belongs to: from memory when looked up less than ttlMs ago. */
  async authenticate(
    headers: CredentialHeaders,
    clientIp: string,
    now: number,
  ): Promise<Authenticated> {
    const key = credentialKey(headers);
    if (key === null) {
      return this.lookup(headers, clientIp);
    }
    const cached = this.fresh(key, now);
    if (cached !== undefined) {
      return cached;
    }
    this.entries.delete(key);
    const found = await this.lookup(headers, clientIp);
    if (found.principal.kind !== 'anonymous') {
      this.entries.set(key, { found, until: now + this.ttlMs });
      if (this.entries.size > MAX_ENTRIES) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) {
          this.entries.delete(oldest);
        }
      }
    }
    return found;
  }

  private fresh(key: string, now: number): Authenticated | undefined {
    const cached = this.entries.get(key);
    return cached !== undefined && cached.until > now ? cached.found : undefined;
  }
}

/**
 * The credential is what the lookup reads: the Authorization header, else the cookies; kept by
 * its SHA-256 (the secrets themselves are not kept). Null when there is none.
 */
function credentialKey(headers: CredentialHeaders): string | null {
  if (headers.authorization === undefined && headers.cookie === undefined) {
    return null;
  }
  return hash('sha256', headers.authorization ?? `cookie:${headers.cookie ?? ''}`, 'base64');
}
