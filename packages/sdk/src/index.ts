/**
 * The typed client of Lantern's HTTP API, used by the web app, the CLI and the tests. Every type
 * here comes from `src/generated/schema.ts`, which openapi-typescript generates from the server's
 * own OpenAPI document (`npm run generate:sdk`); nothing about the API is written twice by hand.
 */
import { isErrorCode, type Problem } from '@lantern/core';
import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from './generated/schema.js';

export type { components, operations, paths };
export type HealthReport = components['schemas']['HealthReport'];
export type AuditEvent = components['schemas']['AuditEvent'];
export type AuditVerdict = components['schemas']['AuditVerdict'];
export type SessionUser = components['schemas']['SessionUser'];
/** Who is signed in, with the roles this session acts with, the second factor and the terms. */
export type SessionDescription = components['schemas']['SessionDescription'];
export type TermsVersion =
  operations['getCurrentTerms']['responses']['200']['content']['application/json'];
export type TermsStanding =
  operations['getTermsStanding']['responses']['200']['content']['application/json'];
/** A version of the terms with how many people accepted it (admins). */
export type TermsHistoryEntry =
  operations['listTermsVersions']['responses']['200']['content']['application/json']['versions'][number];
export type PublishTermsInput =
  operations['publishTerms']['requestBody']['content']['application/json'];
export type SecondFactorStatus = components['schemas']['SecondFactorStatus'];
export type AdmissionStanding = components['schemas']['AdmissionStanding'];
export type Applicant = components['schemas']['Applicant'];
export type CertificateFile = components['schemas']['CertificateFile'];
export type ListApplicantsQuery = NonNullable<operations['listApplicants']['parameters']['query']>;
export type RegisterInput = operations['register']['requestBody']['content']['application/json'];
export type ApiToken = components['schemas']['ApiToken'];
export type SessionInfo =
  operations['listSessions']['responses']['200']['content']['application/json']['sessions'][number];
export type ManagedUser = components['schemas']['ManagedUser'];
export type Dataset = components['schemas']['Dataset'];
export type CatalogCard = components['schemas']['CatalogCard'];
export type DatasetVersion = components['schemas']['DatasetVersion'];
export type VersionSummary = components['schemas']['VersionSummary'];
export type PublicationPreview = components['schemas']['PublicationPreview'];
/** A delivery uploaded for a remote ingest: files received, the run's progress, its outcome. */
export type IngestUpload = components['schemas']['IngestUpload'];
export type IngestSummary = components['schemas']['IngestSummary'];
/** A declared file of an upload being sent, and how many of its bytes the server holds. */
export type IngestUploadFile = components['schemas']['IngestUploadFile'];
/** A running ingest's phase, items, bytes, rate and time left. */
export type IngestProgress = components['schemas']['IngestProgress'];
export type DatasetReport = components['schemas']['DatasetReport'];
/** The PHI review of a draft an ingest made: findings (masked), decisions, files held back. */
export type PhiReview = components['schemas']['PhiReview'];
export type DraftExamples = components['schemas']['DraftExamples'];
export type PhiFinding = components['schemas']['PhiFinding'];
/** A curator's decision on a finding: drop its column, or confirm it is not PHI (saying why). */
export type PhiDecisionInput =
  operations['decidePhi']['requestBody']['content']['application/json']['decisions'][number];
export type HeldReview = components['schemas']['HeldReview'];
export type HeldFile = components['schemas']['HeldFile'];
export type HeldDecisionInput =
  operations['decideHeldFiles']['requestBody']['content']['application/json']['decisions'][number];
export type DatasetInput =
  operations['createDataset']['requestBody']['content']['application/json'];
export type DatasetDictionary =
  operations['setDraftDictionary']['requestBody']['content']['application/json'];
export type DatasetDocumentation =
  operations['setDraftDocumentation']['requestBody']['content']['application/json']['sections'];
export type TableKeys =
  operations['setDraftTableKeys']['requestBody']['content']['application/json'];
export type ListDatasetsQuery = NonNullable<operations['listDatasets']['parameters']['query']>;
export type ListUsersQuery = NonNullable<operations['listUsers']['parameters']['query']>;
/** A project in its member's list. */
export type ProjectSummary = components['schemas']['ProjectSummary'];
/** Everything a project page shows: members, invitations, datasets and versions, offers, activity. */
export type Project = components['schemas']['Project'];
export type ProjectMember = components['schemas']['ProjectMember'];
export type ProjectInvitation = components['schemas']['ProjectInvitation'];
/** A project's access to one dataset version. */
export type ProjectDataset = components['schemas']['ProjectDataset'];
/** A request for an approval-tier dataset, with the project's purpose, as reviewers read it. */
export type AccessRequest = components['schemas']['AccessRequest'];
export type NewProjectInput =
  operations['createProject']['requestBody']['content']['application/json'];
export type ProjectChangesInput =
  operations['updateProject']['requestBody']['content']['application/json'];
/** A notebook instance: its type, state (and why it failed), datasets mounted and proxied URL. */
export type Instance = components['schemas']['Instance'];
/** An entry of the instance type catalogue: vCPUs, memory, GPU, disk, price (0 cents is free). */
export type InstanceTypeEntry =
  operations['listInstanceTypes']['responses']['200']['content']['application/json']['types'][number];
export type LaunchInstanceInput =
  operations['launchInstance']['requestBody']['content']['application/json'];
/** A release request (the airlock) in a list, whole, and a page of them. */
export type ReleaseSummary = components['schemas']['ReleasePage']['releases'][number];
export type Release = components['schemas']['Release'];
export type ReleaseFile = Release['files'][number];
export type ReleaseState = Release['state'];
export type ReleasePage = components['schemas']['ReleasePage'];
/** What a file of a request holds, as a reviewer or member sees it before it leaves. */
export type ReleasePreview = components['schemas']['ReleasePreview'];
export type ReleaseListQuery = NonNullable<operations['listReleaseQueue']['parameters']['query']>;
/** What a project's instances cost: total, per type, member and UTC day, and what runs now. */
export type ProjectSpend = components['schemas']['ProjectSpend'];
/** The window of a spend: each a date (its UTC start) or a date and time with its offset. */
export type ProjectSpendQuery = NonNullable<operations['getProjectSpend']['parameters']['query']>;
export type ListAuditEventsQuery = NonNullable<
  operations['listAuditEvents']['parameters']['query']
>;

/**
 * An approved file of a release request as it arrives: its bytes, read once, and what the server
 * said of them. Neither is to be trusted until the bytes read are counted and hashed.
 */
export interface ReleaseFileStream {
  /** The bytes, chunk by chunk; cancel it to close the connection. */
  body: ReadableStream<Uint8Array>;
  /** The SHA-256 the server stored for the file (its X-Content-SHA256); '' when it sent none. */
  sha256: string;
  /** The bytes the server declared (its Content-Length); null when it declared none. */
  size: number | null;
}

/** An error answer from the server, with its problem details. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /**
   * With a 429 (or 503): the seconds the server asked to wait before trying again, from its
   * Retry-After header; null when it sent none.
   */
  readonly retryAfter: number | null;

  constructor(status: number, problem: Problem, retryAfter: number | null = null) {
    super(`${problem.code}: ${problem.detail}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  get code(): Problem['code'] {
    return this.problem.code;
  }
}

export interface LanternClientOptions {
  /** Where the server is, e.g. `http://127.0.0.1:8080`; `''` for the same origin (the web app). */
  baseUrl: string;
  /** An API token, sent as a bearer token. */
  token?: string;
  /** A fetch implementation (tests, proxies); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

/** The raw openapi-fetch client, typed by the generated schema. */
export type RawClient = Client<paths>;

/** A client with one method per API operation; each resolves to the body or throws ApiError. */
export interface LanternClient {
  raw: RawClient;
  /** Health of each component. Resolves for 200 and for 503 (the report says what is down). */
  getHealth(): Promise<HealthReport>;
  listAuditEvents(
    query?: ListAuditEventsQuery,
  ): Promise<{ events: AuditEvent[]; nextBefore: number | null }>;
  verifyAuditChain(): Promise<AuditVerdict>;
  /**
   * Signs in; in a browser the session cookie is set by the answer. With two-factor sign-in on,
   * `code` (from the app, or a recovery code) is needed: without it, or when it is wrong, this
   * throws an ApiError with code `second_factor_required`.
   */
  signIn(
    email: string,
    password: string,
    code?: string,
  ): Promise<{ user: SessionUser; expiresAt: string }>;
  signOut(): Promise<void>;
  /** Who is signed in and what this session acts as, or null. */
  getSession(): Promise<SessionDescription | null>;
  /** Sets a password with the secret of a single-use link. */
  setPasswordWithLink(token: string, password: string): Promise<{ email: string }>;
  /** Applies for an account; the answer is the same whether or not the address is known. */
  register(input: RegisterInput): Promise<{ next: string }>;
  verifyEmail(token: string): Promise<{ email: string; status: string }>;
  /** Asks for a new verification link; the answer is the same whatever the address. */
  resendVerificationEmail(email: string): Promise<{ next: string }>;
  /** Asks for a link to set a new password; the answer is the same whatever the address. */
  requestPasswordReset(email: string): Promise<{ next: string }>;
  getAdmissionStanding(): Promise<AdmissionStanding>;
  submitTrainingEvidence(certificateId: string, expiresOn: string): Promise<void>;
  /**
   * Uploads your training certificate file (PDF, PNG or JPEG, at most 10 MiB; its `type` is sent
   * as Content-Type), valid until `expiresOn` (YYYY-MM-DD). Replaces any earlier file.
   */
  uploadCertificateFile(file: Blob, expiresOn: string, name?: string): Promise<CertificateFile>;
  /**
   * One page of applications (reviewers): pending ones oldest first, decided ones newest decision
   * first. Pass the answer's `nextCursor` as `cursor` for the next page; null means no more.
   */
  listApplicants(
    query?: ListApplicantsQuery,
  ): Promise<{ applicants: Applicant[]; nextCursor: string | null }>;
  decideApplications(
    userIds: string[],
    decision: 'admit' | 'reject',
    reason: string,
  ): Promise<number>;
  listSessions(): Promise<SessionInfo[]>;
  revokeSession(id: string): Promise<void>;
  signOutEverywhere(): Promise<number>;
  listApiTokens(): Promise<ApiToken[]>;
  /** Makes a token; the secret is in this answer only. */
  createApiToken(input: {
    name: string;
    scope: ApiToken['scope'];
    expiresInDays: number;
  }): Promise<{ token: string; info: ApiToken }>;
  revokeApiToken(id: string): Promise<void>;
  /** The token this client was made with: its name, scope and expiry (any scope may ask). */
  getCurrentApiToken(): Promise<ApiToken>;
  /** Revokes the token this client was made with (any scope may). */
  revokeCurrentApiToken(): Promise<void>;
  /** People, newest first (admins); pass `next` back as `cursor` for the next page. */
  listUsers(query?: ListUsersQuery): Promise<{ users: ManagedUser[]; next: string | null }>;
  getUser(id: string): Promise<ManagedUser & { sessions: number; tokens: number }>;
  /** Suspends a person: their sessions and tokens end now. */
  suspendUser(id: string, reason: string): Promise<ManagedUser>;
  reinstateUser(id: string, note?: string): Promise<ManagedUser>;
  setUserRoles(id: string, roles: ManagedUser['roles']): Promise<ManagedUser>;
  /** Makes a person (with the partner role) the delegate of these partners, by name (admins). */
  setUserDelegatePartners(id: string, partners: string[]): Promise<ManagedUser>;
  resetUserSecondFactor(id: string, reason: string): Promise<ManagedUser>;
  listDatasetCategories(): Promise<{ slug: string; title: string; description: string }[]>;
  /** Adds a category to the catalog (admins). */
  addDatasetCategory(input: { slug: string; title: string; description?: string }): Promise<void>;
  /** The catalog (published datasets; drafts too for curators). */
  listDatasets(query?: ListDatasetsQuery): Promise<CatalogCard[]>;
  getDataset(slug: string): Promise<Dataset & { versions: VersionSummary[] }>;
  /** One version (`draft` for curators): documentation, tables described, dictionary, change log. */
  getDatasetVersion(slug: string, version: string): Promise<DatasetVersion>;
  /** Where the schematic (SVG) of a version is, for an <img>. */
  schematicPath(slug: string, version: string): string;
  createDataset(input: DatasetInput): Promise<Dataset>;
  updateDataset(slug: string, input: Omit<DatasetInput, 'slug'>): Promise<Dataset>;
  openDatasetDraft(slug: string): Promise<DatasetVersion>;
  setDraftDocumentation(slug: string, sections: DatasetDocumentation): Promise<DatasetVersion>;
  setDraftDictionary(slug: string, dictionary: DatasetDictionary): Promise<DatasetVersion>;
  /** Uploads a table of the draft as CSV; `file` is its path in the version folder. */
  uploadDraftTable(
    slug: string,
    table: string,
    file: string,
    csv: Blob | string,
  ): Promise<DatasetVersion>;
  setDraftTableKeys(slug: string, table: string, keys: TableKeys): Promise<DatasetVersion>;
  removeDraftTable(slug: string, table: string): Promise<DatasetVersion>;
  previewPublication(slug: string): Promise<PublicationPreview>;
  /**
   * Declares a delivery's files (delivery.yaml among them) with their sizes, and SHA-256 if known,
   * for a remote ingest. Files are then named by their place in this list.
   */
  createIngestUpload(
    files: { path: string; size: number; sha256?: string }[],
  ): Promise<IngestUpload>;
  /**
   * Sends bytes of the declared file at `index`: without `offset` the whole file, exactly its
   * declared size (a Blob from fs.openAsBlob streams it); with `offset` a chunk starting where the
   * server's bytes of the file end (listIngestUploadFiles says where). `sha256`, the whole file's,
   * goes with the send that completes it: the server checks it against the bytes it received.
   */
  putIngestUploadFile(
    id: string,
    index: number,
    file: Blob | Uint8Array<ArrayBuffer>,
    offset?: number,
    sha256?: string,
  ): Promise<IngestUpload>;
  /** The declared files of an upload being sent, with the bytes of each the server holds. */
  listIngestUploadFiles(id: string): Promise<IngestUploadFile[]>;
  /** Starts the ingest of a complete upload; follow it with getIngestUpload. */
  runIngestUpload(id: string): Promise<IngestUpload>;
  getIngestUpload(id: string): Promise<IngestUpload>;
  /** Cancels an upload not yet running (its files deleted at once), or forgets a finished one. */
  cancelIngestUpload(id: string): Promise<void>;
  /** Publishes the draft; `version`, when given, must be the computed number. */
  publishDraft(slug: string, input: { version?: string; notes?: string }): Promise<DatasetVersion>;
  retireDatasetVersion(slug: string, version: string): Promise<DatasetVersion>;
  /**
   * What the PHI scan of the last ingest found in the draft's tables (examples masked, with their
   * row numbers), the decisions taken, the findings still open and the files held back.
   */
  getPhiReview(slug: string): Promise<PhiReview>;
  /**
   * Decides PHI findings: `drop` rewrites the column's table without it, `confirm` says why a
   * finding is not PHI. Resolves to the review after the decisions.
   */
  decidePhi(slug: string, decisions: PhiDecisionInput[]): Promise<PhiReview>;
  /**
   * A first value of each draft column (as published, de-identified), for the data dictionary's
   * examples; `withheld` (and no example) in columns whose PHI findings are still open.
   */
  getDraftExamples(slug: string): Promise<DraftExamples>;
  /**
   * The files the draft's last ingest held back for review (burned-in text, unreadable formats),
   * each with its decision if taken, and how many are still open.
   */
  getHeldFiles(slug: string): Promise<HeldReview>;
  /**
   * Decides held files: `release` (a note saying why the burned-in text does not identify anyone)
   * puts the file in the draft, `exclude` leaves it out and empties the cells that named it.
   */
  decideHeldFiles(slug: string, decisions: HeldDecisionInput[]): Promise<HeldReview>;
  /** Where a held image's preview (PNG, curators only) is, for an <img>. */
  heldFilePreviewPath(slug: string, file: string): string;
  /** Reports a problem on a dataset, a table or a column (admitted readers). */
  reportDatasetProblem(
    slug: string,
    input: { version?: string; table?: string; column?: string; text: string },
  ): Promise<DatasetReport>;
  listMyReports(): Promise<DatasetReport[]>;
  /** The curators' queue of reports. */
  listReports(status?: DatasetReport['status']): Promise<DatasetReport[]>;
  /** Answers a report; `fixedIn` (a published version) or `close` closes it. */
  answerReport(
    id: string,
    input: { answer: string; fixedIn?: string; close?: boolean },
  ): Promise<DatasetReport>;
  listFixedReports(
    slug: string,
    version: string,
  ): Promise<
    {
      id: string;
      table: string | null;
      column: string | null;
      text: string;
      answer: string | null;
    }[]
  >;
  /** Creates a project (you own it) with the dataset versions it needs. */
  createProject(input: NewProjectInput): Promise<Project>;
  /** Your projects, newest first. */
  listMyProjects(): Promise<ProjectSummary[]>;
  /** One of your projects, whole (a project you are not a member of is not found). */
  getProject(id: string): Promise<Project>;
  updateProject(id: string, changes: ProjectChangesInput): Promise<Project>;
  /** Attaches (open) or requests (approval) a dataset version; also takes an offered version. */
  addProjectDataset(id: string, dataset: { slug: string; version: string }): Promise<Project>;
  /** Invites `email` with `role` (owners): the link is emailed, works once, for seven days. */
  inviteToProject(
    id: string,
    invitation: { email: string; role: ProjectMember['role'] },
  ): Promise<ProjectInvitation>;
  revokeProjectInvitation(id: string, invitationId: string): Promise<void>;
  /** Accepts an invitation with the secret of its link. */
  acceptProjectInvitation(token: string): Promise<Project>;
  changeProjectMemberRole(
    id: string,
    userId: string,
    role: ProjectMember['role'],
  ): Promise<Project>;
  removeProjectMember(id: string, userId: string): Promise<Project>;
  leaveProject(id: string): Promise<void>;
  transferProjectOwnership(id: string, userId: string): Promise<Project>;
  /** Archives a project: access ends, nothing is deleted. */
  archiveProject(id: string): Promise<Project>;
  /** The reviewers' queue of access requests (waiting ones by default). */
  listAccessRequests(status?: AccessRequest['status']): Promise<AccessRequest[]>;
  /** Approves or refuses an access request, with a reason the project reads. */
  decideAccessRequest(
    id: string,
    decision: 'approve' | 'refuse',
    reason: string,
  ): Promise<AccessRequest>;
  /** The instance type catalogue (admitted members of projects). */
  listInstanceTypes(): Promise<InstanceTypeEntry[]>;
  /** A project's instances, newest first (any member). */
  listProjectInstances(projectId: string): Promise<Instance[]>;
  /**
   * Launches an instance (owners and editors); resolves while it starts. Refusals: 429 for the
   * free quota or too many starts at once (with Retry-After), 403 for a paid type not enabled.
   */
  launchInstance(projectId: string, input: LaunchInstanceInput): Promise<Instance>;
  getInstance(id: string): Promise<Instance>;
  /** Stops an instance; resolves while it stops (home and project files stay). */
  stopInstance(id: string): Promise<Instance>;
  /** Starts a stopped or failed instance again, with the same quotas as a launch. */
  restartInstance(id: string): Promise<Instance>;
  /**
   * What the project's instances cost (any member): over the last 30 days, or `query`'s window
   * (from inclusive, to exclusive, at most 366 days), and what runs now with its rate per hour.
   */
  getProjectSpend(projectId: string, query?: ProjectSpendQuery): Promise<ProjectSpend>;
  /** A page of the project's release requests, newest first (its members). */
  listProjectReleases(projectId: string, query?: ReleaseListQuery): Promise<ReleasePage>;
  /** The reviewers' queue: pending requests oldest first by default (`release.review`). */
  listReleaseQueue(query?: ReleaseListQuery): Promise<ReleasePage>;
  /** One request with its files, their checks, the decision and what you may do now. */
  getRelease(id: string): Promise<Release>;
  previewReleaseFile(id: string, fileId: string): Promise<ReleasePreview>;
  /**
   * An approved file's bytes (members), with the SHA-256 the server stored for them: compare it
   * with the bytes' own before trusting them. Held in memory whole: to save a file, stream it
   * (downloadReleaseFileStream).
   */
  downloadReleaseFile(id: string, fileId: string): Promise<{ bytes: Uint8Array; sha256: string }>;
  /**
   * An approved file's bytes as they arrive (members), to write to disk without holding them:
   * the errors are downloadReleaseFile's, thrown before any byte is read; a connection that breaks
   * later, or `signal` aborting, fails the body's next read.
   */
  downloadReleaseFileStream(
    id: string,
    fileId: string,
    options?: { signal?: AbortSignal },
  ): Promise<ReleaseFileStream>;
  /** Approves or rejects a pending request with a reason (reviewers; never your own request). */
  decideRelease(id: string, decision: { approved: boolean; reason: string }): Promise<Release>;
  /** Withdraws a pending request (its requester, or an owner). */
  withdrawRelease(id: string): Promise<Release>;
  /** The current version of the terms (anyone). */
  getCurrentTerms(): Promise<TermsVersion>;
  getTermsVersion(version: number): Promise<TermsVersion>;
  /** Which version you accepted, and whether it is the current one. */
  getTermsStanding(): Promise<TermsStanding>;
  /** Accepts `version`, which must be the current one (you accept the words you saw). */
  acceptTerms(version: number): Promise<TermsStanding>;
  /** Every version, newest first, with how many accepted each (admins). */
  listTermsVersions(): Promise<TermsHistoryEntry[]>;
  /** Publishes a new version (admins); everyone accepts it again before touching data. */
  publishTerms(input: PublishTermsInput): Promise<TermsVersion>;
  getSecondFactor(): Promise<SecondFactorStatus>;
  /** Starts two-factor sign-in: a new secret (base32) and its otpauth:// URI for a QR code. */
  beginSecondFactorEnrolment(): Promise<{ secret: string; uri: string }>;
  /** Turns two-factor sign-in on with a code from the app; the recovery codes, shown once. */
  confirmSecondFactorEnrolment(code: string): Promise<string[]>;
  /** New recovery codes after a code from the app; the old ones stop working. */
  regenerateRecoveryCodes(code: string): Promise<string[]>;
  /** Turns two-factor sign-in off (refused when your roles require it). */
  disableSecondFactor(code: string): Promise<void>;
}

/** Creates a client for the server at `options.baseUrl`. */
export function createLanternClient(options: LanternClientOptions): LanternClient {
  const raw = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    // The server refuses browser writes without this header (CSRF defence); sending it always is
    // harmless elsewhere.
    headers: {
      'x-lantern-csrf': '1',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    },
  });
  /** An approved file's answer, its body unread (the one way both download methods fetch it). */
  async function openReleaseFile(
    id: string,
    fileId: string,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<ReleaseFileStream> {
    const { error, response } = await raw.GET('/api/v1/releases/{id}/files/{fileId}/content', {
      params: { path: { id, fileId } },
      parseAs: 'stream',
      ...(signal === undefined ? {} : { signal }),
    });
    if (!response.ok) {
      throwApiError(response, error);
    }
    const declared = response.headers.get('content-length');
    return {
      // An empty file's answer may have no body at all.
      body: response.body ?? new ReadableStream({ start: (controller) => controller.close() }),
      sha256: response.headers.get('x-content-sha256') ?? '',
      size: declared === null || !/^\d+$/u.test(declared) ? null : Number(declared),
    };
  }

  return {
    raw,
    async getHealth() {
      const { data, error, response } = await raw.GET('/api/v1/health');
      if (data !== undefined) {
        return data;
      }
      // A 503 carries the same report, saying what is down.
      if (response.status === 503 && isHealthReport(error)) {
        return error;
      }
      throw toApiError(response, error);
    },
    async listAuditEvents(query = {}) {
      const { data, error, response } = await raw.GET('/api/v1/audit/events', {
        params: { query },
      });
      return data ?? throwApiError(response, error);
    },
    async verifyAuditChain() {
      const { data, error, response } = await raw.POST('/api/v1/audit/verify');
      return data ?? throwApiError(response, error);
    },
    async signIn(email, password, code) {
      const { data, error, response } = await raw.POST('/api/v1/auth/sign-in', {
        body: { email, password, ...(code === undefined ? {} : { code }) },
      });
      return data ?? throwApiError(response, error);
    },
    async signOut() {
      const { error, response } = await raw.POST('/api/v1/auth/sign-out');
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async getSession() {
      const { data, error, response } = await raw.GET('/api/v1/auth/session');
      return (data ?? throwApiError(response, error)).user;
    },
    async register(input) {
      const { data, error, response } = await raw.POST('/api/v1/auth/register', { body: input });
      return data ?? throwApiError(response, error);
    },
    async verifyEmail(token) {
      const { data, error, response } = await raw.POST('/api/v1/auth/verify-email', {
        body: { token },
      });
      return data ?? throwApiError(response, error);
    },
    async resendVerificationEmail(email) {
      const { data, error, response } = await raw.POST('/api/v1/auth/verify-email/resend', {
        body: { email },
      });
      return data ?? throwApiError(response, error);
    },
    async requestPasswordReset(email) {
      const { data, error, response } = await raw.POST('/api/v1/auth/password-reset', {
        body: { email },
      });
      return data ?? throwApiError(response, error);
    },
    async getAdmissionStanding() {
      const { data, error, response } = await raw.GET('/api/v1/admission/me');
      return data ?? throwApiError(response, error);
    },
    async submitTrainingEvidence(certificateId, expiresOn) {
      const { error, response } = await raw.PUT('/api/v1/admission/me/evidence', {
        body: { certificateId, expiresOn },
      });
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async uploadCertificateFile(file, expiresOn, name) {
      const { data, error, response } = await raw.PUT('/api/v1/admission/me/certificate-file', {
        params: { query: { expiresOn, ...(name === undefined ? {} : { name }) } },
        body: file,
        // The body is the file's bytes, not JSON.
        bodySerializer: (body: unknown) => (body instanceof Blob ? body : null),
        headers: { 'content-type': file.type === '' ? 'application/octet-stream' : file.type },
      });
      return data ?? throwApiError(response, error);
    },
    async listApplicants(query = {}) {
      const { data, error, response } = await raw.GET('/api/v1/admission/queue', {
        params: { query },
      });
      return data ?? throwApiError(response, error);
    },
    async decideApplications(userIds, decision, reason) {
      const { data, error, response } = await raw.POST('/api/v1/admission/decisions', {
        body: { userIds, decision, reason },
      });
      return (data ?? throwApiError(response, error)).decided;
    },
    async listSessions() {
      const { data, error, response } = await raw.GET('/api/v1/auth/sessions');
      return (data ?? throwApiError(response, error)).sessions;
    },
    async revokeSession(id) {
      const { error, response } = await raw.DELETE('/api/v1/auth/sessions/{id}', {
        params: { path: { id } },
      });
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async signOutEverywhere() {
      const { data, error, response } = await raw.POST('/api/v1/auth/sign-out-everywhere');
      return (data ?? throwApiError(response, error)).ended;
    },
    async listApiTokens() {
      const { data, error, response } = await raw.GET('/api/v1/auth/tokens');
      return (data ?? throwApiError(response, error)).tokens;
    },
    async createApiToken(input) {
      const { data, error, response } = await raw.POST('/api/v1/auth/tokens', { body: input });
      return data ?? throwApiError(response, error);
    },
    async revokeApiToken(id) {
      const { error, response } = await raw.DELETE('/api/v1/auth/tokens/{id}', {
        params: { path: { id } },
      });
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async getCurrentApiToken() {
      const { data, error, response } = await raw.GET('/api/v1/auth/token');
      return (data ?? throwApiError(response, error)).token;
    },
    async revokeCurrentApiToken() {
      const { error, response } = await raw.DELETE('/api/v1/auth/token');
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async listUsers(query = {}) {
      const { data, error, response } = await raw.GET('/api/v1/admin/users', {
        params: { query },
      });
      return data ?? throwApiError(response, error);
    },
    async getUser(id) {
      const { data, error, response } = await raw.GET('/api/v1/admin/users/{id}', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async suspendUser(id, reason) {
      const { data, error, response } = await raw.POST('/api/v1/admin/users/{id}/suspend', {
        params: { path: { id } },
        body: { reason },
      });
      return data ?? throwApiError(response, error);
    },
    async reinstateUser(id, note = '') {
      const { data, error, response } = await raw.POST('/api/v1/admin/users/{id}/reinstate', {
        params: { path: { id } },
        body: { note },
      });
      return data ?? throwApiError(response, error);
    },
    async setUserRoles(id, roles) {
      const { data, error, response } = await raw.PUT('/api/v1/admin/users/{id}/roles', {
        params: { path: { id } },
        body: { roles },
      });
      return data ?? throwApiError(response, error);
    },
    async setUserDelegatePartners(id, partners) {
      const { data, error, response } = await raw.PUT(
        '/api/v1/admin/users/{id}/delegate-partners',
        { params: { path: { id } }, body: { partners } },
      );
      return data ?? throwApiError(response, error);
    },
    async resetUserSecondFactor(id, reason) {
      const { data, error, response } = await raw.POST(
        '/api/v1/admin/users/{id}/second-factor/reset',
        { params: { path: { id } }, body: { reason } },
      );
      return data ?? throwApiError(response, error);
    },
    async listDatasetCategories() {
      const { data, error, response } = await raw.GET('/api/v1/dataset-categories');
      return (data ?? throwApiError(response, error)).categories;
    },
    async addDatasetCategory(input) {
      const { error, response } = await raw.POST('/api/v1/dataset-categories', { body: input });
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async listDatasets(query = {}) {
      const { data, error, response } = await raw.GET('/api/v1/datasets', {
        params: { query },
      });
      return (data ?? throwApiError(response, error)).datasets;
    },
    async getDataset(slug) {
      const { data, error, response } = await raw.GET('/api/v1/datasets/{slug}', {
        params: { path: { slug } },
      });
      return data ?? throwApiError(response, error);
    },
    async getDatasetVersion(slug, version) {
      const { data, error, response } = await raw.GET(
        '/api/v1/datasets/{slug}/versions/{version}',
        { params: { path: { slug, version } } },
      );
      return data ?? throwApiError(response, error);
    },
    schematicPath(slug, version) {
      return `${options.baseUrl}/api/v1/datasets/${encodeURIComponent(slug)}/versions/${encodeURIComponent(version)}/schematic.svg`;
    },
    async createDataset(input) {
      const { data, error, response } = await raw.POST('/api/v1/datasets', { body: input });
      return data ?? throwApiError(response, error);
    },
    async updateDataset(slug, input) {
      const { data, error, response } = await raw.PUT('/api/v1/datasets/{slug}', {
        params: { path: { slug } },
        body: input,
      });
      return data ?? throwApiError(response, error);
    },
    async openDatasetDraft(slug) {
      const { data, error, response } = await raw.POST('/api/v1/datasets/{slug}/draft', {
        params: { path: { slug } },
      });
      return data ?? throwApiError(response, error);
    },
    async setDraftDocumentation(slug, sections) {
      const { data, error, response } = await raw.PUT(
        '/api/v1/datasets/{slug}/draft/documentation',
        { params: { path: { slug } }, body: { sections } },
      );
      return data ?? throwApiError(response, error);
    },
    async setDraftDictionary(slug, dictionary) {
      const { data, error, response } = await raw.PUT('/api/v1/datasets/{slug}/draft/dictionary', {
        params: { path: { slug } },
        body: dictionary,
      });
      return data ?? throwApiError(response, error);
    },
    async uploadDraftTable(slug, table, file, csv) {
      const { data, error, response } = await raw.PUT(
        '/api/v1/datasets/{slug}/draft/tables/{table}',
        {
          params: { path: { slug, table }, query: { file } },
          body: csv as never,
          bodySerializer: (body: unknown) => body,
          headers: { 'content-type': 'text/csv' },
        },
      );
      return data ?? throwApiError(response, error);
    },
    async setDraftTableKeys(slug, table, keys) {
      const { data, error, response } = await raw.PUT(
        '/api/v1/datasets/{slug}/draft/tables/{table}/keys',
        { params: { path: { slug, table } }, body: keys },
      );
      return data ?? throwApiError(response, error);
    },
    async removeDraftTable(slug, table) {
      const { data, error, response } = await raw.DELETE(
        '/api/v1/datasets/{slug}/draft/tables/{table}',
        { params: { path: { slug, table } } },
      );
      return data ?? throwApiError(response, error);
    },
    async createIngestUpload(files) {
      const { data, error, response } = await raw.POST('/api/v1/ingests', { body: { files } });
      return data ?? throwApiError(response, error);
    },
    async putIngestUploadFile(id, index, file, offset, sha256) {
      const { data, error, response } = await raw.PUT('/api/v1/ingests/{id}/files/{index}', {
        params: {
          path: { id, index },
          query: {
            ...(offset === undefined ? {} : { offset }),
            ...(sha256 === undefined ? {} : { sha256 }),
          },
        },
        body: file as never,
        // The body is the file's bytes, not JSON.
        bodySerializer: (body: unknown) => body,
        headers: { 'content-type': 'application/octet-stream' },
      });
      return data ?? throwApiError(response, error);
    },
    async listIngestUploadFiles(id) {
      const { data, error, response } = await raw.GET('/api/v1/ingests/{id}/files', {
        params: { path: { id } },
      });
      return data?.files ?? throwApiError(response, error);
    },
    async runIngestUpload(id) {
      const { data, error, response } = await raw.POST('/api/v1/ingests/{id}/run', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async getIngestUpload(id) {
      const { data, error, response } = await raw.GET('/api/v1/ingests/{id}', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async cancelIngestUpload(id) {
      const { error, response } = await raw.DELETE('/api/v1/ingests/{id}', {
        params: { path: { id } },
      });
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async previewPublication(slug) {
      const { data, error, response } = await raw.GET('/api/v1/datasets/{slug}/draft/publication', {
        params: { path: { slug } },
      });
      return data ?? throwApiError(response, error);
    },
    async publishDraft(slug, input) {
      const { data, error, response } = await raw.POST('/api/v1/datasets/{slug}/draft/publish', {
        params: { path: { slug } },
        body: {
          notes: input.notes ?? '',
          ...(input.version === undefined ? {} : { version: input.version }),
        },
      });
      return data ?? throwApiError(response, error);
    },
    async retireDatasetVersion(slug, version) {
      const { data, error, response } = await raw.POST(
        '/api/v1/datasets/{slug}/versions/{version}/retire',
        { params: { path: { slug, version } } },
      );
      return data ?? throwApiError(response, error);
    },
    async getPhiReview(slug) {
      const { data, error, response } = await raw.GET('/api/v1/datasets/{slug}/draft/phi', {
        params: { path: { slug } },
      });
      return data ?? throwApiError(response, error);
    },
    async getDraftExamples(slug) {
      const { data, error, response } = await raw.GET('/api/v1/datasets/{slug}/draft/examples', {
        params: { path: { slug } },
      });
      return data ?? throwApiError(response, error);
    },
    async decidePhi(slug, decisions) {
      const { data, error, response } = await raw.POST(
        '/api/v1/datasets/{slug}/draft/phi/decisions',
        { params: { path: { slug } }, body: { decisions } },
      );
      return data ?? throwApiError(response, error);
    },
    async getHeldFiles(slug) {
      const { data, error, response } = await raw.GET('/api/v1/datasets/{slug}/draft/held', {
        params: { path: { slug } },
      });
      return data ?? throwApiError(response, error);
    },
    async decideHeldFiles(slug, decisions) {
      const { data, error, response } = await raw.POST(
        '/api/v1/datasets/{slug}/draft/held/decisions',
        { params: { path: { slug } }, body: { decisions } },
      );
      return data ?? throwApiError(response, error);
    },
    heldFilePreviewPath(slug, file) {
      return `${options.baseUrl}/api/v1/datasets/${encodeURIComponent(slug)}/draft/held/${encodeURIComponent(file)}/preview`;
    },
    async reportDatasetProblem(slug, input) {
      const { data, error, response } = await raw.POST('/api/v1/datasets/{slug}/reports', {
        params: { path: { slug } },
        body: input,
      });
      return data ?? throwApiError(response, error);
    },
    async listMyReports() {
      const { data, error, response } = await raw.GET('/api/v1/reports/mine');
      return (data ?? throwApiError(response, error)).reports;
    },
    async listReports(status = 'open') {
      const { data, error, response } = await raw.GET('/api/v1/catalog/reports', {
        params: { query: { status } },
      });
      return (data ?? throwApiError(response, error)).reports;
    },
    async answerReport(id, input) {
      const { data, error, response } = await raw.POST('/api/v1/catalog/reports/{id}/answer', {
        params: { path: { id } },
        body: {
          answer: input.answer,
          close: input.close ?? false,
          ...(input.fixedIn === undefined ? {} : { fixedIn: input.fixedIn }),
        },
      });
      return data ?? throwApiError(response, error);
    },
    async listFixedReports(slug, version) {
      const { data, error, response } = await raw.GET(
        '/api/v1/datasets/{slug}/versions/{version}/fixed-reports',
        { params: { path: { slug, version } } },
      );
      return (data ?? throwApiError(response, error)).reports;
    },
    async createProject(input) {
      const { data, error, response } = await raw.POST('/api/v1/projects', { body: input });
      return data ?? throwApiError(response, error);
    },
    async listMyProjects() {
      const { data, error, response } = await raw.GET('/api/v1/projects');
      return (data ?? throwApiError(response, error)).projects;
    },
    async getProject(id) {
      const { data, error, response } = await raw.GET('/api/v1/projects/{id}', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async updateProject(id, changes) {
      const { data, error, response } = await raw.PATCH('/api/v1/projects/{id}', {
        params: { path: { id } },
        body: changes,
      });
      return data ?? throwApiError(response, error);
    },
    async addProjectDataset(id, dataset) {
      const { data, error, response } = await raw.POST('/api/v1/projects/{id}/datasets', {
        params: { path: { id } },
        body: dataset,
      });
      return data ?? throwApiError(response, error);
    },
    async inviteToProject(id, invitation) {
      const { data, error, response } = await raw.POST('/api/v1/projects/{id}/invitations', {
        params: { path: { id } },
        body: invitation,
      });
      return data ?? throwApiError(response, error);
    },
    async revokeProjectInvitation(id, invitationId) {
      const { error, response } = await raw.DELETE(
        '/api/v1/projects/{id}/invitations/{invitationId}',
        { params: { path: { id, invitationId } } },
      );
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async acceptProjectInvitation(token) {
      const { data, error, response } = await raw.POST('/api/v1/invitations/accept', {
        body: { token },
      });
      return data ?? throwApiError(response, error);
    },
    async changeProjectMemberRole(id, userId, role) {
      const { data, error, response } = await raw.PUT('/api/v1/projects/{id}/members/{userId}', {
        params: { path: { id, userId } },
        body: { role },
      });
      return data ?? throwApiError(response, error);
    },
    async removeProjectMember(id, userId) {
      const { data, error, response } = await raw.DELETE('/api/v1/projects/{id}/members/{userId}', {
        params: { path: { id, userId } },
      });
      return data ?? throwApiError(response, error);
    },
    async leaveProject(id) {
      const { error, response } = await raw.POST('/api/v1/projects/{id}/leave', {
        params: { path: { id } },
      });
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async transferProjectOwnership(id, userId) {
      const { data, error, response } = await raw.POST('/api/v1/projects/{id}/transfer', {
        params: { path: { id } },
        body: { userId },
      });
      return data ?? throwApiError(response, error);
    },
    async archiveProject(id) {
      const { data, error, response } = await raw.POST('/api/v1/projects/{id}/archive', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async listInstanceTypes() {
      const { data, error, response } = await raw.GET('/api/v1/instance-types');
      return (data ?? throwApiError(response, error)).types;
    },
    async listProjectInstances(projectId) {
      const { data, error, response } = await raw.GET('/api/v1/projects/{id}/instances', {
        params: { path: { id: projectId } },
      });
      return (data ?? throwApiError(response, error)).instances;
    },
    async launchInstance(projectId, input) {
      const { data, error, response } = await raw.POST('/api/v1/projects/{id}/instances', {
        params: { path: { id: projectId } },
        body: input,
      });
      return data ?? throwApiError(response, error);
    },
    async getInstance(id) {
      const { data, error, response } = await raw.GET('/api/v1/instances/{id}', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async stopInstance(id) {
      const { data, error, response } = await raw.POST('/api/v1/instances/{id}/stop', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async restartInstance(id) {
      const { data, error, response } = await raw.POST('/api/v1/instances/{id}/restart', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async getProjectSpend(projectId, query = {}) {
      const { data, error, response } = await raw.GET('/api/v1/projects/{id}/spend', {
        params: { path: { id: projectId }, query },
      });
      return data ?? throwApiError(response, error);
    },
    async listAccessRequests(status) {
      const { data, error, response } = await raw.GET('/api/v1/access-requests', {
        params: { query: status === undefined ? {} : { status } },
      });
      return (data ?? throwApiError(response, error)).requests;
    },
    async decideAccessRequest(id, decision, reason) {
      const { data, error, response } = await raw.POST('/api/v1/access-requests/{id}/decision', {
        params: { path: { id } },
        body: { decision, reason },
      });
      return data ?? throwApiError(response, error);
    },
    async listProjectReleases(projectId, query = {}) {
      const { data, error, response } = await raw.GET('/api/v1/projects/{id}/releases', {
        params: { path: { id: projectId }, query },
      });
      return data ?? throwApiError(response, error);
    },
    async listReleaseQueue(query = {}) {
      const { data, error, response } = await raw.GET('/api/v1/releases', {
        params: { query },
      });
      return data ?? throwApiError(response, error);
    },
    async getRelease(id) {
      const { data, error, response } = await raw.GET('/api/v1/releases/{id}', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async previewReleaseFile(id, fileId) {
      const { data, error, response } = await raw.GET(
        '/api/v1/releases/{id}/files/{fileId}/preview',
        { params: { path: { id, fileId } } },
      );
      return data ?? throwApiError(response, error);
    },
    async downloadReleaseFile(id, fileId) {
      const { body, sha256 } = await openReleaseFile(id, fileId);
      return { bytes: new Uint8Array(await new Response(body).arrayBuffer()), sha256 };
    },
    downloadReleaseFileStream: openReleaseFile,
    async decideRelease(id, decision) {
      const { data, error, response } = await raw.POST('/api/v1/releases/{id}/decision', {
        params: { path: { id } },
        body: decision,
      });
      return data ?? throwApiError(response, error);
    },
    async withdrawRelease(id) {
      const { data, error, response } = await raw.POST('/api/v1/releases/{id}/withdraw', {
        params: { path: { id } },
      });
      return data ?? throwApiError(response, error);
    },
    async getCurrentTerms() {
      const { data, error, response } = await raw.GET('/api/v1/terms');
      return data ?? throwApiError(response, error);
    },
    async getTermsVersion(version) {
      const { data, error, response } = await raw.GET('/api/v1/terms/versions/{version}', {
        params: { path: { version } },
      });
      return data ?? throwApiError(response, error);
    },
    async getTermsStanding() {
      const { data, error, response } = await raw.GET('/api/v1/terms/standing');
      return data ?? throwApiError(response, error);
    },
    async acceptTerms(version) {
      const { data, error, response } = await raw.POST('/api/v1/terms/accept', {
        body: { version },
      });
      return data ?? throwApiError(response, error);
    },
    async listTermsVersions() {
      const { data, error, response } = await raw.GET('/api/v1/admin/terms');
      return (data ?? throwApiError(response, error)).versions;
    },
    async publishTerms(input) {
      const { data, error, response } = await raw.POST('/api/v1/admin/terms', { body: input });
      return data ?? throwApiError(response, error);
    },
    async getSecondFactor() {
      const { data, error, response } = await raw.GET('/api/v1/auth/second-factor');
      return data ?? throwApiError(response, error);
    },
    async beginSecondFactorEnrolment() {
      const { data, error, response } = await raw.POST('/api/v1/auth/second-factor/enrolment');
      return data ?? throwApiError(response, error);
    },
    async confirmSecondFactorEnrolment(code) {
      const { data, error, response } = await raw.POST(
        '/api/v1/auth/second-factor/enrolment/confirm',
        { body: { code } },
      );
      return (data ?? throwApiError(response, error)).recoveryCodes;
    },
    async regenerateRecoveryCodes(code) {
      const { data, error, response } = await raw.POST(
        '/api/v1/auth/second-factor/recovery-codes',
        {
          body: { code },
        },
      );
      return (data ?? throwApiError(response, error)).recoveryCodes;
    },
    async disableSecondFactor(code) {
      const { error, response } = await raw.POST('/api/v1/auth/second-factor/disable', {
        body: { code },
      });
      if (!response.ok) {
        throwApiError(response, error);
      }
    },
    async setPasswordWithLink(token, password) {
      const { data, error, response } = await raw.POST('/api/v1/auth/set-password', {
        body: { token, password },
      });
      return data ?? throwApiError(response, error);
    },
  };
}

/**
 * Where a certificate file can be viewed, for a link or an `<iframe>`: an applicant's (reviewers),
 * or your own when `userId` is omitted. Relative to the server's base URL.
 */
export function certificateFilePath(userId?: string): string {
  return userId === undefined
    ? '/api/v1/admission/me/certificate-file'
    : `/api/v1/admission/applicants/${encodeURIComponent(userId)}/certificate-file`;
}

function isHealthReport(value: unknown): value is HealthReport {
  return typeof value === 'object' && value !== null && 'checks' in value && 'status' in value;
}

function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    'code' in value &&
    isErrorCode(value.code) &&
    'detail' in value &&
    typeof value.detail === 'string'
  );
}

/** The ApiError for a failed response; a body that is not a problem becomes an `internal` one. */
export function toApiError(response: Response, body: unknown): ApiError {
  const retryAfter = retryAfterOf(response.headers.get('retry-after'));
  if (isProblem(body)) {
    return new ApiError(response.status, body, retryAfter);
  }
  return new ApiError(
    response.status,
    {
      type: 'urn:lantern:problem:internal',
      title: 'Unexpected response',
      status: response.status,
      code: response.status >= 500 ? 'unavailable' : 'bad_request',
      detail: `the server answered ${response.status} ${response.statusText} without problem details`,
    },
    retryAfter,
  );
}

/**
 * Retry-After in seconds (RFC 9110 §10.2.3: delay-seconds, or an HTTP date, read as the seconds
 * until it); null when absent or unreadable.
 */
export function retryAfterOf(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === '') {
    return null;
  }
  const text = header.trim();
  if (/^\d+$/u.test(text)) {
    return Number(text);
  }
  // An IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT` (Date.parse alone would take `-5` for a year).
  const at = /^[A-Za-z]{3}, .* GMT$/u.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

function throwApiError(response: Response, body: unknown): never {
  throw toApiError(response, body);
}
