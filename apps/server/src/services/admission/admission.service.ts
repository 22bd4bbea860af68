import type { Readable } from 'node:stream';
import { AppError, type FieldError } from '@lantern/core';
import {
  bareMediaType,
  CERTIFICATE_MAX_BYTES,
  CERTIFICATE_SNIFF_BYTES,
  isCertificateMediaType,
  sanitizeFileName,
  sniffCertificateType,
  type CertificateMediaType,
} from '@lantern/core/identity';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import {
  admissionRepository,
  type ApplicantRow,
  type QueueFilter,
  type QueueRow,
} from '../../repositories/admission/admission.repository.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { AuditService } from '../audit/audit.service.js';
import type { EmailService } from '../email/email.service.js';

/** A training certificate file as its owner and reviewers see it described. */
export interface CertificateFileInfo {
  name: string;
  mediaType: string;
  size: number;
  expiresOn: string;
  uploadedAt: string;
}

/** An upload of a certificate file: the bytes as they arrive, and what the client says of them. */
export interface CertificateUpload {
  /** The request's Content-Type. */
  contentType: string | undefined;
  /** The request's Content-Length, when it sent one. */
  contentLength: number | undefined;
  /** The file's name on the applicant's computer. */
  fileName: string;
  expiresOn: string;
  body: AsyncIterable<Uint8Array>;
}

/** Where an applicant stands, as they see it on the waiting page. */
export interface Standing {
  status: string;
  appliedAt: string | null;
  evidence: { certificateId: string; expiresOn: string } | null;
  certificateFile: CertificateFileInfo | null;
  /** Pending applications ahead of this one. */
  ahead: number | null;
  /** The median time from application to decision over the last 180 days; null before any decision. */
  medianWaitDays: number | null;
  decision: { at: string; reason: string | null } | null;
}

const MEDIAN_WINDOW_MS = 180 * 24 * 60 * 60 * 1000;
const today = () => new Date().toISOString().slice(0, 10);
const NAMES: Readonly<Record<CertificateMediaType, string>> = {
  'application/pdf': 'a PDF',
  'image/png': 'a PNG image',
  'image/jpeg': 'a JPEG image',
};

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
    private readonly objects: ObjectStore,
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
      certificateFile: certificateFileOf(row),
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
    await this.assertPending(userId);
    assertStillValid(evidence.expiresOn, 'body.expiresOn');
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

  /**
   * Stores an applicant's training certificate file (PDF, PNG or JPEG, at most 10 MiB), replacing
   * any earlier one; allowed while their application waits. The type is read from the file's first
   * bytes and must be the one the client declared; the bytes go to the object store as they arrive.
   */
  async uploadCertificateFile(
    userId: string,
    upload: CertificateUpload,
  ): Promise<CertificateFileInfo> {
    const declared = bareMediaType(upload.contentType);
    if (!isCertificateMediaType(declared)) {
      throw new AppError(
        'unsupported_media_type',
        `a certificate is a PDF, PNG or JPEG file (Content-Type application/pdf, image/png or image/jpeg), not ${declared === '' ? 'an untyped body' : declared}`,
      );
    }
    if (upload.contentLength !== undefined && upload.contentLength > CERTIFICATE_MAX_BYTES) {
      throw tooLarge();
    }
    await this.assertPending(userId);
    assertStillValid(upload.expiresOn, 'querystring.expiresOn');
    const stored = await this.objects.put(checkedCertificate(upload.body, declared));
    const file = {
      key: stored.key,
      mediaType: declared,
      name: sanitizeFileName(upload.fileName, declared),
      size: stored.size,
      expiresOn: upload.expiresOn,
      uploadedAt: new Date(),
    };
    await this.db.transaction().execute(async (trx) => {
      // Decided while the bytes were arriving? Then the file is too late (it stays unreferenced).
      if ((await admissionRepository.applicant(trx, userId))?.status !== 'pending') {
        throw notPending();
      }
      await admissionRepository.setCertificateFile(trx, userId, file);
      await this.audit.record(trx, {
        action: 'admission.certificate_file',
        target: `user:${userId}`,
        details: {
          object: file.key,
          mediaType: file.mediaType,
          size: file.size,
          name: file.name,
          expiresOn: file.expiresOn,
        },
      });
    });
    return {
      name: file.name,
      mediaType: file.mediaType,
      size: file.size,
      expiresOn: file.expiresOn,
      uploadedAt: file.uploadedAt.toISOString(),
    };
  }

  /**
   * The certificate file of `userId`, to stream to its owner or a reviewer (the route decides
   * who may ask). Recorded in the audit log: who looked at whose certificate.
   */
  async openCertificateFile(
    userId: string,
  ): Promise<{ body: Readable; size: number; mediaType: string; name: string }> {
    const row = await admissionRepository.applicant(this.db, userId);
    const key = row?.training_file_key ?? null;
    const opened = key === null ? null : await this.objects.get(key);
    if (row === undefined || opened === null) {
      throw new AppError('not_found', 'no such certificate file');
    }
    await this.audit.recordAlone({
      action: 'admission.certificate_file.view',
      target: `user:${userId}`,
      details: { object: key },
    });
    return {
      body: opened.body,
      size: opened.size,
      mediaType: row.training_file_type ?? 'application/octet-stream',
      name: row.training_file_name ?? 'certificate',
    };
  }

  /**
   * One page of the queue. `cursor` is the opaque `nextCursor` of the page before; it belongs to
   * the status it was made for.
   */
  async queue(
    filter: Omit<QueueFilter, 'after'> & { cursor?: string | undefined },
  ): Promise<{ applicants: ReturnType<typeof presentApplicant>[]; nextCursor: string | null }> {
    const after =
      filter.cursor === undefined ? undefined : readCursor(filter.cursor, filter.status);
    const rows = await admissionRepository.queue(this.db, { ...filter, after });
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      applicants: page.map(presentApplicant),
      nextCursor:
        rows.length > filter.limit && last !== undefined
          ? makeCursor(filter.status, last.id)
          : null,
    };
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
        } else if (input.decision === 'admit' && !hasValidEvidence(row)) {
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

  private async assertPending(userId: string): Promise<void> {
    if ((await admissionRepository.applicant(this.db, userId))?.status !== 'pending') {
      throw notPending();
    }
  }
}

const notPending = () =>
  new AppError(
    'conflict',
    'training evidence is given while an application waits; confirm your email address first',
  );

const tooLarge = () =>
  new AppError(
    'payload_too_large',
    `a certificate file may be at most ${CERTIFICATE_MAX_BYTES / 1024 / 1024} MiB`,
  );

function assertStillValid(expiresOn: string, path: string): void {
  if (expiresOn <= today()) {
    throw new AppError('validation_failed', 'this certificate has expired', {
      errors: [{ path, message: 'the certificate must still be valid' }],
    });
  }
}

/** A certificate id or a certificate file, either still valid, is evidence enough to admit. */
function hasValidEvidence(row: ApplicantRow): boolean {
  const now = today();
  const byId =
    row.training_certificate_id !== null &&
    row.training_expires_on !== null &&
    row.training_expires_on > now;
  const byFile =
    row.training_file_key !== null &&
    row.training_file_expires_on !== null &&
    row.training_file_expires_on > now;
  return byId || byFile;
}

/**
 * The bytes of an upload, passed through as they arrive while checking that the file begins like
 * the type it was declared as (never trusting Content-Type alone) and stays within the limit.
 */
async function* checkedCertificate(
  body: AsyncIterable<Uint8Array>,
  declared: CertificateMediaType,
): AsyncGenerator<Uint8Array> {
  let size = 0;
  let head: Uint8Array[] = [];
  let checked = false;
  const check = () => {
    const sniffed = sniffCertificateType(Buffer.concat(head));
    if (sniffed !== declared) {
      throw new AppError(
        'unsupported_media_type',
        size === 0
          ? 'the file is empty'
          : `the file is not ${NAMES[declared]}: its content does not begin like one${sniffed === null ? '' : ` (it looks like ${NAMES[sniffed]})`}`,
      );
    }
    checked = true;
  };
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > CERTIFICATE_MAX_BYTES) {
      throw tooLarge();
    }
    if (checked) {
      yield chunk;
      continue;
    }
    head.push(chunk);
    if (size >= CERTIFICATE_SNIFF_BYTES) {
      check();
      yield* head;
      head = [];
    }
  }
  if (!checked) {
    check();
    yield* head;
  }
}

interface Cursor {
  s: string;
  a: string;
}

function makeCursor(status: string, afterId: string): string {
  return Buffer.from(JSON.stringify({ s: status, a: afterId } satisfies Cursor)).toString(
    'base64url',
  );
}

function readCursor(cursor: string, status: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('s' in parsed) ||
    !('a' in parsed) ||
    parsed.s !== status ||
    typeof parsed.a !== 'string'
  ) {
    throw new AppError('validation_failed', 'this cursor is not from a page of this list', {
      errors: [{ path: 'querystring.cursor', message: 'use the nextCursor of the page before' }],
    });
  }
  return parsed.a;
}

function presentApplicant(row: QueueRow) {
  return {
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
    certificateFile: certificateFileOf(row),
    decidedAt: row.decided_at?.toISOString() ?? null,
    decidedBy:
      row.decided_by === null
        ? null
        : { id: row.decided_by, name: row.decider_name, email: row.decider_email },
    decisionReason: row.decision_reason,
  };
}

function certificateFileOf(row: ApplicantRow): CertificateFileInfo | null {
  return row.training_file_key === null ||
    row.training_file_type === null ||
    row.training_file_name === null ||
    row.training_file_size === null ||
    row.training_file_expires_on === null ||
    row.training_file_uploaded_at === null
    ? null
    : {
        name: row.training_file_name,
        mediaType: row.training_file_type,
        size: row.training_file_size,
        expiresOn: row.training_file_expires_on,
        uploadedAt: row.training_file_uploaded_at.toISOString(),
      };
}

function evidenceOf(row: ApplicantRow): Standing['evidence'] {
  return row.training_certificate_id === null || row.training_expires_on === null
    ? null
    : { certificateId: row.training_certificate_id, expiresOn: row.training_expires_on };
}
