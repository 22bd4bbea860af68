/**
 * The airlock (release requests): the only way results leave Lantern. A request is made from
 * inside an instance (ngsci.request_release, through the platform socket), its files read from a
 * ZIP archive with the formats package's hostile-archive checks, refused whole for a path in a
 * name, a name twice or a limit passed, before anything is stored. Its files are then stored
 * (content-addressed, as dataset files; the sweep keeps them: object-reference.repository.ts) and
 * the request written with its disclosure checks (@lantern/core/releases) and its audit event in
 * one transaction; reviewers are emailed. A reviewer approves or rejects with a reason (never
 * their own request), the requester is emailed; then, and only then, the project's members
 * download the files. The project's members and reviewers see a request; anyone else is told it
 * does not exist.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AppError, hasPermission, type Principal } from '@lantern/core';
import { isProjectOpen, type MemberRole } from '@lantern/core/projects';
import {
  disclosureChecks,
  maySeeRelease,
  nextReleaseState,
  previewRelease,
  refuseDecision,
  refuseDownload,
  refuseReleaseEntries,
  refuseRequest,
  refuseWithdrawal,
  releaseAbilities,
  releaseMediaType,
  releasePurposeSchema,
  type DisclosureContext,
  type DisclosureThresholds,
  type Release,
  type ReleaseCheck,
  type ReleaseDecision,
  type ReleaseLimits,
  type ReleasePage,
  type ReleasePreview,
  type ReleaseRefusal,
  type ReleaseState,
  type ReleaseSummary,
  type ReleaseViewer,
} from '@lantern/core/releases';
import { FormatError, maskValue, readZip } from '@lantern/formats';
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { Database, ReleaseFileTable } from '../../db/schema.js';
import {
  projectsRepository,
  type ProjectRow,
} from '../../repositories/projects/projects.repository.js';
import {
  releasesRepository,
  type ReleaseCursor,
  type ReleaseFileRow,
  type ReleaseRow,
} from '../../repositories/releases/releases.repository.js';
import { currentRequestContext } from '../../request-context.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { AuditService } from '../audit/audit.service.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { EmailService } from '../email/email.service.js';

/** Requests in one page of a list. */
const PAGE_SIZE = 50;
/**
 * What a ZIP archive holds beyond its files' bytes (headers, names, directory): the platform reads
 * an archive up to the request limit and this much more.
 */
export const ZIP_OVERHEAD_BYTES = 1024 * 1024;

/** Where a request comes from: an instance, its project and the person who launched it. */
export interface ReleaseOrigin {
  projectId: string;
  userId: string;
  instanceId: string;
}

/** A file's bytes to send, with what the response says of them. */
export interface ReleaseFileContent {
  body: Readable;
  size: number;
  name: string;
  sha256: string;
  mediaType: string;
}

export interface ReleaseServiceOptions {
  limits: ReleaseLimits;
  thresholds: DisclosureThresholds;
  links: { base: string };
}

/** A file read from the archive, checked and ready to store. */
interface ArchivedFile {
  name: string;
  bytes: Uint8Array;
}

export class ReleaseService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
    private readonly objects: ObjectStore,
    private readonly catalog: CatalogService,
    private readonly options: ReleaseServiceOptions,
  ) {}

  /** The limits a request is held to (ngsci asks for them before it sends anything). */
  get limits(): ReleaseLimits {
    return this.options.limits;
  }

  /** The most bytes an archive may have (the platform stops reading past it). */
  get maxArchiveBytes(): number {
    return this.options.limits.maxRequestBytes + ZIP_OVERHEAD_BYTES;
  }

  /**
   * Makes a request of the files in `archive` (a ZIP, member names the file names), from an
   * instance of `origin.projectId` for its user. Refused whole, with nothing stored, when the
   * purpose is missing, the archive is not one or holds a path, a name twice or too much, or the
   * user may not request here (a viewer, not a member, suspended, an archived project).
   */
  async request(
    origin: ReleaseOrigin,
    input: { purpose: string; archive: Uint8Array },
  ): Promise<{ id: string; state: ReleaseState; files: number }> {
    const purpose = releasePurposeSchema.safeParse(input.purpose);
    if (!purpose.success) {
      throw new AppError(
        'bad_request',
        `the purpose: ${purpose.error.issues[0]?.message ?? 'not valid'}`,
      );
    }
    const files = this.unpack(input.archive);
    await this.requireRequester(this.db, origin);
    const context = await this.disclosureContext(origin.projectId);
    const id = `rel_${randomBytes(8).toString('hex')}`;
    // Stored before the rows that refer to them (a put's key is known at its end): a request
    // refused or interrupted after this leaves objects nothing refers to, which the sweep removes.
    const stored: (Omit<Insertable<ReleaseFileTable>, 'checks' | 'bytes'> & {
      bytes: number;
      checks: ReleaseCheck[];
    })[] = [];
    for (const file of files) {
      const mediaType = releaseMediaType(file.name, file.bytes);
      const object = await this.objects.put(chunksOf(file.bytes));
      stored.push({
        id: `rlf_${randomBytes(8).toString('hex')}`,
        request_id: id,
        position: stored.length,
        name: file.name,
        bytes: object.size,
        sha256: object.sha256,
        media_type: mediaType,
        object_key: object.key,
        checks: disclosureChecks({ bytes: file.bytes, mediaType }, context),
      });
    }
    const totalBytes = stored.reduce((sum, file) => sum + file.bytes, 0);
    const flagged = stored.filter((file) => file.checks.length > 0).length;
    await this.db.transaction().execute(async (trx) => {
      const project = await this.requireRequester(
        trx,
        origin,
        await projectsRepository.projectForUpdate(trx, origin.projectId),
      );
      await releasesRepository.insertRequest(trx, {
        id,
        project_id: origin.projectId,
        requested_by: origin.userId,
        instance_id: origin.instanceId,
        purpose: purpose.data,
        requested_at: new Date(),
        file_count: stored.length,
        total_bytes: totalBytes,
        flagged_files: flagged,
      });
      await releasesRepository.insertFiles(
        trx,
        stored.map((file) => ({ ...file, checks: JSON.stringify(file.checks) })),
      );
      await this.audit.record(trx, {
        action: 'release.request',
        target: `release:${id}`,
        projectId: origin.projectId,
        details: {
          requestedBy: origin.userId,
          instance: origin.instanceId,
          files: stored.map((file) => ({
            id: file.id,
            sha256: file.sha256,
            bytes: file.bytes,
            checks: file.checks.map((check) => check.code),
          })),
        },
      });
      for (const to of await releasesRepository.reviewerEmails(trx)) {
        await this.email.queue(trx, {
          kind: 'release.requested',
          to,
          subject: `A release request from "${project.title}" waits for review`,
          text:
            `Hello,\n\nthe project "${project.title}" asks for ${stored.length} ${stored.length === 1 ? 'file' : 'files'} (${totalBytes} bytes) to be released` +
            `${flagged > 0 ? `; the automated checks flag ${flagged} of them` : ''}.\n\n` +
            `Review it: ${this.options.links.base}/releases/${id}\n`,
        });
      }
    });
    return { id, state: 'pending', files: stored.length };
  }

  /** A page of the project's requests, newest first (its members). */
  async listProject(
    userId: string,
    projectId: string,
    query: { state?: ReleaseState | undefined; cursor?: string | undefined },
  ): Promise<ReleasePage> {
    const project = await projectsRepository.project(this.db, projectId);
    const member =
      project === undefined
        ? undefined
        : await projectsRepository.member(this.db, projectId, userId);
    if (member === undefined || member.user_status !== 'admitted') {
      throw new AppError('not_found', `there is no project ${projectId}`);
    }
    const listing = {
      state: query.state,
      order: 'newest' as const,
      after: decodeCursor(query.cursor),
      limit: PAGE_SIZE + 1,
    };
    return pageOf(await releasesRepository.ofProject(this.db, projectId, listing));
  }

  /** The reviewers' queue: pending requests oldest first; decided ones newest first. */
  async queue(query: { state: ReleaseState; cursor?: string | undefined }): Promise<ReleasePage> {
    const listing = {
      state: query.state,
      order: query.state === 'pending' ? ('oldest' as const) : ('newest' as const),
      after: decodeCursor(query.cursor),
      limit: PAGE_SIZE + 1,
    };
    return pageOf(await releasesRepository.queue(this.db, listing));
  }

  /** One request with its files and what the caller may do (members and reviewers). */
  async get(principal: Principal, id: string): Promise<Release> {
    const { row, viewer } = await this.visible(principal, id);
    const files = await releasesRepository.files(this.db, id);
    return present(row, files, viewer);
  }

  /** What the caller sees of one file before it leaves. */
  async preview(principal: Principal, id: string, fileId: string): Promise<ReleasePreview> {
    const { file } = await this.visibleFile(principal, id, fileId);
    return previewRelease(await this.bytesOf(file), file.media_type);
  }

  /** An image file's bytes (PNG or JPEG only), to show. */
  async image(principal: Principal, id: string, fileId: string): Promise<ReleaseFileContent> {
    const { file } = await this.visibleFile(principal, id, fileId);
    if (file.media_type !== 'image/png' && file.media_type !== 'image/jpeg') {
      throw new AppError('unsupported_media_type', `${file.name} is not a PNG or JPEG image`);
    }
    return this.contentOf(file);
  }

  /**
   * An approved file's stored bytes, for a member of the project to take away: the one way
   * anything leaves. Audited with the file and its SHA-256.
   */
  async download(principal: Principal, id: string, fileId: string): Promise<ReleaseFileContent> {
    const { row, viewer, file } = await this.visibleFile(principal, id, fileId);
    throwRefusal(refuseDownload(factsOf(row), viewer));
    const content = await this.contentOf(file);
    await this.audit.recordAlone({
      action: 'release.download',
      target: `release:${id}`,
      projectId: row.project_id,
      details: { file: file.id, sha256: file.sha256, bytes: Number(file.bytes) },
    });
    return content;
  }

  /** A reviewer's decision with its reason; the requester is emailed. */
  async decide(principal: Principal, id: string, decision: ReleaseDecision): Promise<Release> {
    const at = new Date();
    await this.db.transaction().execute(async (trx) => {
      const { row, viewer } = await this.lockedVisible(trx, principal, id);
      throwRefusal(refuseDecision(factsOf(row), viewer));
      const state = nextReleaseState(row.state, decision.approved ? 'approve' : 'reject');
      if (state === null) {
        throw new AppError('conflict', `this request is ${row.state}`);
      }
      await releasesRepository.setState(trx, id, {
        state,
        by: viewer.userId,
        at,
        reason: decision.reason,
      });
      await this.audit.record(trx, {
        action: 'release.decide',
        target: `release:${id}`,
        projectId: row.project_id,
        details: { approved: decision.approved, reason: decision.reason },
      });
      const shown = await releasesRepository.request(trx, id);
      if (shown !== undefined) {
        await this.email.queue(trx, {
          kind: 'release.decision',
          to: shown.requester_email,
          subject: `Your release request from "${shown.project_title}": ${state}`,
          text:
            `Hello ${shown.requester_name},\n\na reviewer ${state} your request to release ${shown.file_count} ${shown.file_count === 1 ? 'file' : 'files'} from "${shown.project_title}".\n\n` +
            `Their reason: ${decision.reason}\n\n` +
            `${state === 'approved' ? "The project's members may now download the files" : 'Nothing was released'}: ${this.options.links.base}/releases/${id}\n`,
        });
      }
    });
    return this.get(principal, id);
  }

  /** Withdraws a pending request (its requester, or an owner of the project). */
  async withdraw(principal: Principal, id: string): Promise<Release> {
    await this.db.transaction().execute(async (trx) => {
      const { row, viewer } = await this.lockedVisible(trx, principal, id);
      throwRefusal(refuseWithdrawal(factsOf(row), viewer));
      await releasesRepository.setState(trx, id, {
        state: 'withdrawn',
        by: viewer.userId,
        at: new Date(),
        reason: null,
      });
      await this.audit.record(trx, {
        action: 'release.withdraw',
        target: `release:${id}`,
        projectId: row.project_id,
        details: {},
      });
    });
    return this.get(principal, id);
  }

  /**
   * The archive's files, read whole and checked (the formats package's hostile-archive checks:
   * sizes, overlaps, bombs, CRC-32), or a refusal naming why. Nothing is stored yet.
   */
  private unpack(archive: Uint8Array): ArchivedFile[] {
    const { limits } = this.options;
    try {
      const zip = readZip(archive, {
        name: 'the archive',
        maxEntries: limits.maxFiles,
        maxEntryBytes: limits.maxFileBytes,
        maxTotalBytes: limits.maxRequestBytes,
      });
      throwRefusal(refuseReleaseEntries(zip.entries, limits));
      return zip.entries.map((entry) => ({ name: entry.name, bytes: zip.read(entry) }));
    } catch (error) {
      if (error instanceof FormatError) {
        throw new AppError(
          error.code === 'limit_exceeded' ? 'payload_too_large' : 'bad_request',
          `the archive cannot be read: ${error.message}`,
        );
      }
      throw error;
    }
  }

  /**
   * The project, checked for a request by `origin.userId`: open, and they an admitted owner or
   * editor.
   */
  private async requireRequester(
    executor: Kysely<Database> | Transaction<Database>,
    origin: ReleaseOrigin,
    locked?: ProjectRow,
  ): Promise<ProjectRow> {
    // The row locked in the caller's transaction, or the row as it is now.
    const project = locked ?? (await projectsRepository.project(executor, origin.projectId));
    const member =
      project === undefined
        ? undefined
        : await projectsRepository.member(executor, origin.projectId, origin.userId);
    if (project === undefined || member === undefined || member.user_status !== 'admitted') {
      throw new AppError(
        'forbidden',
        "the instance's user is no longer an active member of its project",
      );
    }
    const refusal = refuseRequest(member.role);
    if (refusal !== null) {
      throw new AppError('forbidden', refusal);
    }
    if (!isProjectOpen(project.status)) {
      throw new AppError('conflict', 'this project is archived; it takes no release requests');
    }
    return project;
  }

  /** What the checks know of the project: its datasets' ids and id columns, the thresholds. */
  private async disclosureContext(projectId: string): Promise<DisclosureContext> {
    const versions = await releasesRepository.attachedVersions(this.db, projectId);
    const identifiers = await this.catalog.identifiers(versions);
    return {
      ...this.options.thresholds,
      isIdentifier: identifiers.has,
      idColumns: identifiers.columns,
      mask: maskValue,
    };
  }

  /** Who `principal` is to requests of `projectId`: their role there, whether they review. */
  private async viewerOf(
    executor: Kysely<Database> | Transaction<Database>,
    principal: Principal,
    projectId: string,
  ): Promise<ReleaseViewer> {
    if (principal.kind !== 'user') {
      throw new AppError('unauthenticated', 'sign in to do this');
    }
    const member = hasPermission(principal, 'project.work')
      ? await projectsRepository.member(executor, projectId, principal.userId)
      : undefined;
    const memberRole: MemberRole | null =
      member !== undefined && member.user_status === 'admitted' ? member.role : null;
    return {
      userId: principal.userId,
      memberRole,
      isReviewer: hasPermission(principal, 'release.review'),
    };
  }

  /** The request and who is looking, or "no such request" for anyone who may not see it. */
  private async visible(
    principal: Principal,
    id: string,
  ): Promise<{ row: ReleaseRow; viewer: ReleaseViewer }> {
    const row = await releasesRepository.request(this.db, id);
    const viewer =
      row === undefined ? null : await this.viewerOf(this.db, principal, row.project_id);
    if (row === undefined || viewer === null || !maySeeRelease(viewer)) {
      throw notFound(id);
    }
    inProject(row.project_id);
    return { row, viewer };
  }

  /** As `visible`, in `trx` with the request's row locked. */
  private async lockedVisible(trx: Transaction<Database>, principal: Principal, id: string) {
    const row = await releasesRepository.requestForUpdate(trx, id);
    const viewer = row === undefined ? null : await this.viewerOf(trx, principal, row.project_id);
    if (row === undefined || viewer === null || !maySeeRelease(viewer)) {
      throw notFound(id);
    }
    inProject(row.project_id);
    return { row, viewer };
  }

  private async visibleFile(principal: Principal, id: string, fileId: string) {
    const { row, viewer } = await this.visible(principal, id);
    const file = await releasesRepository.file(this.db, id, fileId);
    if (file === undefined) {
      throw new AppError('not_found', `release request ${id} has no file ${fileId}`);
    }
    return { row, viewer, file };
  }

  private async contentOf(file: ReleaseFileRow): Promise<ReleaseFileContent> {
    const object = await this.objects.get(file.object_key);
    if (object === null) {
      throw new AppError('internal', `the bytes of ${file.name} are missing from the object store`);
    }
    return {
      body: object.body,
      size: object.size,
      name: file.name,
      sha256: file.sha256,
      mediaType: file.media_type,
    };
  }

  /** A file's stored bytes, whole (a file is at most the request's file limit). */
  private async bytesOf(file: ReleaseFileRow): Promise<Uint8Array> {
    const bytes = await buffer((await this.contentOf(file)).body);
    // The object store's key is the content's hash: bytes that do not match are not the file's.
    if (createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
      throw new AppError('internal', `the stored bytes of ${file.name} do not match their SHA-256`);
    }
    return bytes;
  }
}

async function* chunksOf(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function notFound(id: string): AppError {
  return new AppError('not_found', `there is no release request ${id}`);
}

function throwRefusal(refusal: ReleaseRefusal | null): void {
  if (refusal !== null) {
    throw new AppError(refusal.code, refusal.message);
  }
}

/** Files the request's audit events under its project (allowed or refused). */
function inProject(projectId: string): void {
  const ctx = currentRequestContext();
  if (ctx !== undefined) {
    ctx.projectId = projectId;
  }
}

function factsOf(row: { state: ReleaseState; requested_by: string }) {
  return { state: row.state, requestedBy: row.requested_by };
}

/** A list cursor: the last request's time and id, opaque to clients. */
function encodeCursor(row: ReleaseRow): string {
  return Buffer.from(JSON.stringify([row.requested_at.toISOString(), row.id])).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string | undefined): ReleaseCursor | undefined {
  if (cursor === undefined || cursor === '') {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const at = new Date(value[0]);
      if (!Number.isNaN(at.getTime())) {
        return { at, id: value[1] };
      }
    }
  } catch {
    // Not JSON: refused below.
  }
  throw new AppError('bad_request', 'this cursor is not one a list of releases gave');
}

function pageOf(rows: ReleaseRow[]): ReleasePage {
  const shown = rows.slice(0, PAGE_SIZE);
  const last = shown.at(-1);
  return {
    releases: shown.map(presentSummary),
    next: rows.length > PAGE_SIZE && last !== undefined ? encodeCursor(last) : null,
  };
}

function presentSummary(row: ReleaseRow): ReleaseSummary {
  return {
    id: row.id,
    projectId: row.project_id,
    projectTitle: row.project_title,
    purpose: row.purpose,
    state: row.state,
    requestedBy: { id: row.requested_by, name: row.requester_name },
    requestedAt: row.requested_at.toISOString(),
    decidedAt: row.decided_at?.toISOString() ?? null,
    fileCount: row.file_count,
    totalBytes: Number(row.total_bytes),
    flaggedFiles: row.flagged_files,
  };
}

function present(row: ReleaseRow, files: ReleaseFileRow[], viewer: ReleaseViewer): Release {
  const decided = row.state === 'approved' || row.state === 'rejected';
  return {
    ...presentSummary(row),
    files: files.map((file) => ({
      id: file.id,
      name: file.name,
      bytes: Number(file.bytes),
      sha256: file.sha256,
      mediaType: file.media_type,
      checks: file.checks,
    })),
    instanceId: row.instance_id,
    decision:
      decided && row.decided_by !== null && row.decided_at !== null
        ? {
            approved: row.state === 'approved',
            by: { id: row.decided_by, name: row.decider_name ?? '' },
            at: row.decided_at.toISOString(),
            reason: row.decision_reason ?? '',
          }
        : null,
    ...releaseAbilities(factsOf(row), viewer),
  };
}
