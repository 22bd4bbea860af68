/**
 * A short memory of who a credential belongs to, for routes that see many small requests from the
 * same person in a row: the instance proxy, where a notebook page makes dozens of API calls and the
 * session lookup would otherwise cost more than forwarding them. A credential's answer is kept for
 * AUTHENTICATION_CACHE_MS at most, so a revoked session, a suspension or a role change reaches
 * those routes within that time (JupyterHub keeps its answers for 5 minutes). Only successful
 * answers are kept; a credential that fails is looked up every time.
 */
import { createHash } from 'node:crypto';
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
    private readonly lookup: (
      headers: CredentialHeaders,
      clientIp: string,
    ) => Promise<Authenticated>,
    private readonly ttlMs = AUTHENTICATION_CACHE_MS,
  ) {}

  /** Who the headers' credential belongs to: from memory when looked up less than ttlMs ago. */
  async authenticate(
    headers: CredentialHeaders,
    clientIp: string,
    now: number,
  ): Promise<Authenticated> {
    if (headers.authorization === undefined && headers.cookie === undefined) {
      return this.lookup(headers, clientIp);
    }
    // The credential is what the lookup reads: the Authorization header, else the cookies.
    const key = createHash('sha256')
      .update(headers.authorization ?? `cookie:${headers.cookie ?? ''}`)
      .digest('base64');
    const cached = this.entries.get(key);
    if (cached !== undefined && cached.until > now) {
      return cached.found;
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
}
