import { AppError, type FieldError } from '@lantern/core';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import {
  admissionRepository,
  type ApplicantRow,
} from '../../repositories/admission/admission.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';

/** Where an applicant stands, as they see it on the waiting page. */
export interface Standing {
  status: string;
  appliedAt: string | null;
  evidence: { certificateId: string; expiresOn: string } | null;
  /** Pending applications ahead of this one. */
  ahead: number | null;
  /** The median time from application to decision over the last 180 days; null before any decision. */
  medianWaitDays: number | null;
  decision: { at: string; reason: string | null } | null;
}

const MEDIAN_WINDOW_MS = 180 * 24 * 60 * 60 * 1000;
const today = () => new Date().toISOString().slice(0, 10);

/**
 * Admission: applicants give evidence of human-subjects research training and wait; reviewers
 * admit or reject them, singly or in bulk, always with a reason for a rejection, and the applicant
 * is told by email either way. The wait shown to applicants is measured from real decisions.
 */
export class AdmissionService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
  ) {}

  async standing(userId: string): Promise<Standing> {
    const row = await admissionRepository.applicant(this.db, userId);
    if (row === undefined) {
      throw new AppError('not_found', 'no such account');
    }
    const median = await admissionRepository.medianWaitSeconds(
      this.db,
      new Date(Date.now() - MEDIAN_WINDOW_MS),
    );
    return {
      status: row.status,
      appliedAt: row.applied_at?.toISOString() ?? null,
      evidence: evidenceOf(row),
      ahead:
        row.status === 'pending' && row.applied_at !== null
          ? await admissionRepository.positionInQueue(this.db, row.applied_at)
          : null,
      medianWaitDays: median === null ? null : Math.round((median / 86_400) * 10) / 10,
      decision:
        row.decided_at === null
          ? null
          : { at: row.decided_at.toISOString(), reason: row.decision_reason },
    };
  }

  /** An applicant's training certificate; allowed while their application waits. */
  async submitEvidence(
    userId: string,
    evidence: { certificateId: string; expiresOn: string },
  ): Promise<void> {
    const row = await admissionRepository.applicant(this.db, userId);
    if (row?.status !== 'pending') {
      throw new AppError(
        'conflict',
        'training evidence is given while an application waits; confirm your email address first',
      );
    }
    if (evidence.expiresOn <= today()) {
      throw new AppError('validation_failed', 'this certificate has expired', {
        errors: [{ path: 'body.expiresOn', message: 'the certificate must still be valid' }],
      });
    }
    await this.db.transaction().execute(async (trx) => {
      await admissionRepository.setEvidence(
        trx,
        userId,
        evidence.certificateId,
        evidence.expiresOn,
      );
      await this.audit.record(trx, {
        action: 'admission.evidence',
        target: `user:${userId}`,
        details: { expiresOn: evidence.expiresOn },
      });
    });
  }

  async queue(filter: {
    status: 'pending' | 'admitted' | 'rejected';
    hasEvidence?: boolean | undefined;
    limit: number;
  }) {
    return (await admissionRepository.queue(this.db, filter)).map((row) => ({
      id: row.id,
      email: row.email,
      name: row.name,
      institution: row.institution,
      institutionRole: row.institution_role,
      researchPurpose: row.research_purpose,
      orcid: row.orcid,
      status: row.status,
      appliedAt: row.applied_at?.toISOString() ?? null,
      evidence: evidenceOf(row),
      decidedAt: row.decided_at?.toISOString() ?? null,
      decisionReason: row.decision_reason,
    }));
  }

  /**
   * Admits or rejects applicants, all or none: every one must be pending, and anyone admitted must
   * have valid training evidence. Each applicant gets an email and an audit event.
   */
  async decide(
    reviewerId: string,
    input: { userIds: string[]; decision: 'admit' | 'reject'; reason: string },
  ): Promise<number> {
    const reason = input.reason.trim();
    if (input.decision === 'reject' && reason.length < 5) {
      throw new AppError('validation_failed', 'say why the application is rejected', {
        errors: [
          { path: 'body.reason', message: 'a rejection needs a reason the applicant will read' },
        ],
      });
    }
    const ids = [...new Set(input.userIds)];
    return this.db.transaction().execute(async (trx) => {
      const problems: FieldError[] = [];
      const applicants: ApplicantRow[] = [];
      for (const [i, id] of ids.entries()) {
        const row = await admissionRepository.applicant(trx, id);
        if (row?.status !== 'pending') {
          problems.push({ path: `body.userIds.${i}`, message: `${id} has no pending application` });
        } else if (
          input.decision === 'admit' &&
          (row.training_expires_on === null || row.training_expires_on <= today())
        ) {
          problems.push({
            path: `body.userIds.${i}`,
            message: `${row.email} has no valid training evidence yet`,
          });
        } else {
          applicants.push(row);
        }
      }
      if (problems.length > 0) {
        throw new AppError('validation_failed', problems.map((p) => p.message).join('; '), {
          errors: problems,
        });
      }
      const at = new Date();
      const status = input.decision === 'admit' ? 'admitted' : 'rejected';
      for (const row of applicants) {
        await admissionRepository.decide(trx, row.id, { status, by: reviewerId, reason, at });
        await this.audit.record(trx, {
          action: `admission.${input.decision}`,
          target: `user:${row.id}`,
          details: { reason },
        });
        await this.email.queue(trx, {
          kind: `admission.${input.decision}`,
          to: row.email,
          subject:
            input.decision === 'admit' ? 'You are admitted to Lantern' : 'Your Lantern application',
          text:
            input.decision === 'admit'
              ? `Hello ${row.name},\n\nyour application is approved. Sign in to accept the data use terms and start a project.${reason === '' ? '' : `\n\nNote from the reviewer: ${reason}`}\n`
              : `Hello ${row.name},\n\nyour application was not approved.\n\nReason: ${reason}\n\nYou may reply to the administrators if something can be corrected.\n`,
        });
      }
      return applicants.length;
    });
  }
}

function evidenceOf(row: ApplicantRow): Standing['evidence'] {
  return row.training_certificate_id === null || row.training_expires_on === null
    ? null
    : { certificateId: row.training_certificate_id, expiresOn: row.training_expires_on };
}
