import { AppError } from '@lantern/core';
import {
  decidedAccessStatus,
  type AccessDecision,
  type AccessStatus,
} from '@lantern/core/projects';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import {
  projectsRepository,
  type AccessRequestRow,
} from '../../repositories/projects/projects.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';
import { presentDataset, type ProjectDataset } from './project.service.js';

/** An access request as a reviewer reads it: the project's purpose beside the data it asks for. */
export interface AccessRequest extends ProjectDataset {
  project: { id: string; title: string; purpose: string; status: 'active' | 'archived' };
  requestedBy: { name: string; email: string };
}

/**
 * Who answers which requests: reviewers (and admins) all of them; a partner's delegate (the
 * partner role, made a delegate by an admin) those to datasets their partners contribute to.
 */
export type AccessReviewer = { userId: string; roles: readonly string[] };

/**
 * Requests for approval-tier datasets: a project asks for one version, a reviewer or the partner's
 * delegate answers with a reason the project's members read (and its requester is emailed). The
 * answer is audited in the project's feed. A request outside a delegate's partners does not exist
 * for them.
 */
export class AccessRequestService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
    private readonly links: { base: string },
  ) {}

  /** The queue: waiting requests oldest first; answered ones newest first. */
  async list(
    reviewer: AccessReviewer,
    status: AccessStatus,
    limit: number,
  ): Promise<AccessRequest[]> {
    const partners = await this.partnersOf(reviewer);
    const rows = await projectsRepository.accessRequests(this.db, status, limit, partners);
    return rows.map(present);
  }

  /** Answers a waiting request: `approve` attaches the version, `refuse` does not; both say why. */
  async decide(
    reviewer: AccessReviewer,
    id: string,
    input: { decision: AccessDecision; reason: string },
  ): Promise<AccessRequest> {
    const partners = await this.partnersOf(reviewer);
    await this.db.transaction().execute(async (trx) => {
      const row = await projectsRepository.accessRequestForUpdate(trx, id, partners);
      if (row === undefined) {
        throw new AppError('not_found', 'there is no such access request');
      }
      if (row.status !== 'requested') {
        throw new AppError('conflict', `this request was answered already (${row.status})`);
      }
      const status = decidedAccessStatus(input.decision);
      await projectsRepository.decideAccess(trx, id, {
        status,
        by: `user:${reviewer.userId}`,
        at: new Date(),
        reason: input.reason,
      });
      const approved = input.decision === 'approve';
      await this.email.queue(trx, {
        kind: 'project.access_decision',
        to: row.requester_email,
        subject: `${row.slug} ${row.number ?? ''} for "${row.project_title}": ${approved ? 'approved' : 'refused'}`,
        text: `Hello ${row.requester_name},\n\nyour project "${row.project_title}" asked for ${row.slug} version ${row.number ?? ''}. ${partners === undefined ? 'A reviewer' : "The data partner's delegate"} ${approved ? 'approved the request: the data is attached to the project' : 'refused the request'}.\n\nTheir reason: ${input.reason}\n\nThe project: ${this.links.base}/projects/${row.project_id}\n`,
      });
      await this.audit.record(trx, {
        action: approved ? 'access.approve' : 'access.refuse',
        target: `dataset:${row.slug}`,
        projectId: row.project_id,
        details: {
          request: id,
          version: row.number,
          reason: input.reason,
          ...(partners === undefined ? {} : { onBehalfOf: partners }),
        },
      });
    });
    const row = await projectsRepository.accessRequest(this.db, id);
    if (row === undefined) {
      throw new AppError('not_found', 'there is no such access request');
    }
    return present(row);
  }

  /** Undefined for reviewers and admins (every request); the delegate's partners otherwise. */
  private async partnersOf(reviewer: AccessReviewer): Promise<string[] | undefined> {
    if (reviewer.roles.includes('reviewer') || reviewer.roles.includes('admin')) {
      return undefined;
    }
    return projectsRepository.delegatePartners(this.db, reviewer.userId);
  }
}

function present(row: AccessRequestRow): AccessRequest {
  return {
    ...presentDataset(row, row.project_status),
    project: {
      id: row.project_id,
      title: row.project_title,
      purpose: row.project_purpose,
      status: row.project_status,
    },
    requestedBy: { name: row.requester_name, email: row.requester_email },
  };
}
