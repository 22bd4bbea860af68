import { readFile } from 'node:fs/promises';
import { AppError } from '@lantern/core';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import {
  termsRepository,
  type TermsVersionRow,
} from '../../repositories/terms/terms.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';

/** A version of the terms, as people read it. */
export interface TermsView {
  version: number;
  title: string;
  body: string;
  changes: string;
  publishedAt: string;
}

/** Where a person stands with the terms. */
export interface TermsStanding {
  current: TermsView;
  /** The newest version they accepted, and when; null if never. */
  accepted: { version: number; at: string } | null;
  /** Did they accept the current version (and so may touch data, if their roles allow)? */
  upToDate: boolean;
}

const FIRST_VERSION_FILE = new URL('../../../data/terms/data-use-agreement.md', import.meta.url);

/**
 * The terms: the data use agreement everyone accepts before touching data. Versions are published,
 * never edited; a new version withholds data from everyone until they accept it (the principal's
 * `termsAccepted`, computed when a caller is authenticated, carries the answer to every route).
 */
export class TermsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
    private readonly links: { base: string },
  ) {}

  /** Publishes version 1, shipped with the server, on an empty database. */
  async ensurePublished(): Promise<void> {
    if ((await termsRepository.current(this.db)) !== undefined) {
      return;
    }
    const body = await readFile(FIRST_VERSION_FILE, 'utf8');
    await this.db.transaction().execute(async (trx) => {
      if ((await termsRepository.current(trx)) !== undefined) {
        return;
      }
      await termsRepository.insert(trx, {
        version: 1,
        title: 'Data use agreement',
        body,
        changes: 'First version.',
        published_by: 'system:lantern',
      });
      await this.audit.record(trx, {
        action: 'terms.publish',
        target: 'terms:1',
        details: { version: 1, shipped: true },
      });
    });
  }

  async current(): Promise<TermsView> {
    return view(await this.requireCurrent());
  }

  async version(version: number): Promise<TermsView> {
    const row = await termsRepository.byVersion(this.db, version);
    if (row === undefined) {
      throw new AppError('not_found', `there is no version ${version} of the terms`);
    }
    return view(row);
  }

  async standing(userId: string): Promise<TermsStanding> {
    const current = await this.requireCurrent();
    const accepted = await termsRepository.latestAcceptance(this.db, userId);
    return {
      current: view(current),
      accepted:
        accepted === undefined
          ? null
          : { version: accepted.version, at: accepted.accepted_at.toISOString() },
      upToDate: accepted?.version === current.version,
    };
  }

  /**
   * Records that the person accepted `version`, which must be the current one: accepting an older
   * version someone read before a new one appeared would accept words they never saw.
   */
  async accept(userId: string, version: number, clientIp: string | null): Promise<TermsStanding> {
    await this.db.transaction().execute(async (trx) => {
      const current = await termsRepository.current(trx);
      if (current === undefined || current.version !== version) {
        throw new AppError(
          'conflict',
          current === undefined
            ? 'there are no terms to accept yet'
            : `version ${version} is not the current version of the terms; read and accept version ${current.version}`,
        );
      }
      if (await termsRepository.accept(trx, { user_id: userId, version, client_ip: clientIp })) {
        await this.audit.record(trx, {
          action: 'terms.accept',
          target: `terms:${version}`,
          details: { version },
        });
      }
    });
    return this.standing(userId);
  }

  /**
   * Publishes a new version. From that moment nobody touches data until they accept it; admitted
   * people are told by email.
   */
  async publish(
    publisherId: string,
    input: { title: string; body: string; changes: string },
  ): Promise<TermsView> {
    const published = await this.db.transaction().execute(async (trx) => {
      await termsRepository.lockForPublish(trx);
      const previous = await termsRepository.current(trx);
      const version = (previous?.version ?? 0) + 1;
      if (previous !== undefined && previous.body.trim() === input.body.trim()) {
        throw new AppError(
          'conflict',
          `the text is the same as version ${previous.version}; change the text, or keep the current version`,
        );
      }
      await termsRepository.insert(trx, {
        version,
        title: input.title,
        body: input.body,
        changes: input.changes,
        published_by: `user:${publisherId}`,
      });
      const people = await termsRepository.admittedAddresses(trx);
      for (const person of people) {
        await this.email.queue(trx, {
          kind: 'terms.new_version',
          to: person.email,
          subject: `New Lantern terms (version ${version}): please read and accept`,
          text: `Hello,\n\nversion ${version} of the Lantern terms ("${input.title}") was published. What changed: ${input.changes}\n\nUntil you accept it you can read the catalogue but not touch any data. Read and accept it at ${this.links.base}/terms\n`,
        });
      }
      await this.audit.record(trx, {
        action: 'terms.publish',
        target: `terms:${version}`,
        details: { version, title: input.title, notified: people.length },
      });
      const row = await termsRepository.byVersion(trx, version);
      if (row === undefined) {
        throw new Error('the version just published cannot be read back');
      }
      return row;
    });
    return view(published);
  }

  /** Every version, newest first, with how many people accepted each. */
  async history(): Promise<(TermsView & { acceptances: number })[]> {
    const rows = await termsRepository.history(this.db);
    return rows.map((row) => ({ ...view(row), acceptances: row.acceptances }));
  }

  private async requireCurrent(): Promise<TermsVersionRow> {
    const current = await termsRepository.current(this.db);
    if (current === undefined) {
      throw new AppError('unavailable', 'no terms are published yet');
    }
    return current;
  }
}

function view(row: TermsVersionRow): TermsView {
  return {
    version: row.version,
    title: row.title,
    body: row.body,
    changes: row.changes,
    publishedAt: row.published_at.toISOString(),
  };
}
