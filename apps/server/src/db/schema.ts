import type {
  AccessTier,
  Modality,
  Author,
  ChangeLevel,
  ChangeLogEntry,
  Citation,
  DataDictionary,
  Documentation,
  Partner,
  Snapshot,
  VersionStatus,
} from '@lantern/core/catalog';
import type { PhiDecision, PhiFinding } from '@lantern/deid';
import type { InstanceState } from '@lantern/core/instances';
import type { AccessStatus, MemberRole, ProjectStatus } from '@lantern/core/projects';
import type { ReleaseCheck, ReleaseState } from '@lantern/core/releases';
import type { ColumnType, Generated } from 'kysely';

/** Event bodies written by requests and services, waiting to be sealed into the chain (a queue). */
export interface AuditInboxTable {
  id: Generated<number>;
  /** The event: canonical JSON (packages/core encodeAuditBody). */
  body: string;
  queued_at: ColumnType<Date, never, never>;
}

/**
 * The append-only, hash-chained audit log. Rows are never updated or deleted (triggers refuse).
 * `body` is the event; actor and project_id are generated from it, for the feeds' indexes.
 */
export interface AuditEventTable {
  seq: number;
  prev_hash: string;
  hash: string;
  body: string;
  sealed_at: ColumnType<Date, never, never>;
  actor: ColumnType<string, never, never>;
  project_id: ColumnType<string | null, never, never>;
}

export type UserStatus = 'unverified' | 'pending' | 'admitted' | 'rejected' | 'suspended';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  institution: string | null;
  institution_role: string | null;
  research_purpose: string | null;
  orcid: string | null;
  /** argon2id PHC string; null until the user has set a password. */
  password_hash: string | null;
  status: UserStatus;
  roles: ColumnType<string[], string[] | undefined, string[]>;
  /** The partners (by name, as datasets list them) whose access requests this person answers. */
  delegate_partners: ColumnType<string[], string[] | undefined, string[]>;
  email_verified_at: Date | null;
  /** When the address was confirmed and the application entered the queue. */
  applied_at: Date | null;
  training_certificate_id: string | null;
  /** A calendar date as text (YYYY-MM-DD), the same on both dialects. */
  training_expires_on: string | null;
  decided_at: Date | null;
  decided_by: string | null;
  decision_reason: string | null;
  /** The TOTP secret, sealed with the deployment key (DeploymentKey.seal); set at enrolment. */
  totp_secret_sealed: string | null;
  /** When enrolment was confirmed with a code; null while none, or while enrolment is unconfirmed. */
  totp_enabled_at: Date | null;
  /** The last TOTP time step accepted: each code works once. */
  totp_last_step: number | null;
  suspended_at: Date | null;
  suspended_by: string | null;
  suspension_reason: string | null;
  /** The status a reinstated person returns to. */
  status_before_suspension: UserStatus | null;
  /** The training certificate file: its object store key, media type and sanitised name. */
  training_file_key: string | null;
  training_file_type: string | null;
  training_file_name: string | null;
  training_file_size: number | null;
  /** The file certificate's expiry, a calendar date as text (YYYY-MM-DD). */
  training_file_expires_on: string | null;
  training_file_uploaded_at: Date | null;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** Signed-in browsers. The cookie holds the secret; only its SHA-256 is stored. */
export interface SessionsTable {
  id_hash: string;
  user_id: string;
  created_at: ColumnType<Date, never, never>;
  last_seen_at: ColumnType<Date, Date | undefined, Date>;
  expires_at: Date;
  revoked_at: Date | null;
  client_ip: string | null;
  user_agent: string | null;
  /** Signed in with a second factor (or enrolled one in this session). */
  second_factor: ColumnType<boolean, boolean | undefined, boolean>;
}

/** Single-use recovery codes for a second factor, stored hashed. */
export interface RecoveryCodesTable {
  code_hash: string;
  user_id: string;
  created_at: ColumnType<Date, never, never>;
  used_at: Date | null;
}

/** A check value of the deployment key (one row), so a wrong key is caught at start. */
export interface DeploymentKeyTable {
  id: number;
  key_check: string;
  created_at: ColumnType<Date, never, never>;
}

/** Single-use links sent to a person (stored hashed). */
export interface OneTimeLinksTable {
  id_hash: string;
  user_id: string;
  purpose: 'set_password' | 'verify_email';
  created_at: ColumnType<Date, never, never>;
  expires_at: Date;
  used_at: Date | null;
}

/** Failed attempts at a secret, per key, for lockout with backoff. */
export interface AuthThrottleTable {
  key: string;
  failures: number;
  first_failure_at: Date;
  locked_until: Date | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** API tokens; the secret is shown once and only its SHA-256 is kept. */
export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  scope: string[];
  created_at: ColumnType<Date, never, never>;
  expires_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** Email waiting to be delivered, and delivered email, for admins to read. */
export interface EmailOutboxTable {
  id: Generated<number>;
  kind: string;
  to_address: string;
  subject: string;
  body_text: string;
  created_at: ColumnType<Date, never, never>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  attempts: ColumnType<number, never, number>;
  sent_at: Date | null;
  last_error: string | null;
}

/** Published versions of the terms (the data use agreement); never changed once published. */
export interface TermsVersionTable {
  version: number;
  title: string;
  /** Markdown. */
  body: string;
  /** What changed since the previous version, in a sentence or two, shown to those re-accepting. */
  changes: string;
  published_at: ColumnType<Date, Date | undefined, never>;
  /** `user:<id>`, or `system:…` for the version shipped with the server. */
  published_by: string;
}

/** Who accepted which version of the terms, when and from where. */
export interface TermsAcceptanceTable {
  user_id: string;
  version: number;
  accepted_at: ColumnType<Date, never, never>;
  client_ip: string | null;
}

/** Categories of the catalog: the fixed ones and those admins add. */
export interface DatasetCategoryTable {
  slug: string;
  title: string;
  description: ColumnType<string, string | undefined, string>;
  created_by: string;
  created_at: ColumnType<Date, never, never>;
}

/** JSON stored in a jsonb column: read as a value, written as its JSON text. */
type Json<T> = ColumnType<T, string, string>;

/** A dataset as the catalog describes it; its content lives in its versions. */
export interface DatasetTable {
  id: string;
  slug: string;
  title: string;
  problem: string;
  category: string;
  partners: Json<Partner[]>;
  authors: Json<Author[]>;
  citation: Json<Citation>;
  access_tier: AccessTier;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  modalities: ColumnType<Modality[], Modality[] | undefined, Modality[]>;
  synthetic: ColumnType<boolean, boolean | undefined, boolean>;
  created_by: string;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A version of a dataset: a draft curators edit, then published (never changed) or retired. */
export interface DatasetVersionTable {
  id: string;
  dataset_id: string;
  status: VersionStatus;
  /** The computed number ('1.0', '2.1.1'); null while a draft. */
  number: string | null;
  major: number | null;
  minor: number | null;
  patch: number | null;
  snapshot: Json<Snapshot>;
  dictionary: Json<DataDictionary>;
  documentation: Json<Documentation>;
  /** The curator's own notes, shown beside the generated change log. */
  notes: ColumnType<string, string | undefined, string>;
  change_log: ColumnType<ChangeLogEntry[], string | undefined, string>;
  change_level: ChangeLevel | null;
  change_reasons: ColumnType<string[], string | undefined, string>;
  created_by: string;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  published_at: Date | null;
  published_by: string | null;
  retired_at: Date | null;
}

/** A file of a version: its path in the version folder and the object holding its bytes. */
export interface DatasetVersionFileTable {
  version_id: string;
  path: string;
  object_key: string;
  size: ColumnType<string, number, number>;
}

/** A problem reported in a dataset, and how curators answered it. */
export interface DatasetReportTable {
  id: string;
  dataset_id: string;
  /** The version the reporter was reading. */
  version: string | null;
  table_name: string | null;
  column_name: string | null;
  text: string;
  reporter_id: string;
  status: ColumnType<'open' | 'answered' | 'closed', 'open' | undefined, 'answered' | 'closed'>;
  answer: string | null;
  answered_by: string | null;
  answered_at: Date | null;
  /** The published version that fixes it. */
  fixed_in: string | null;
  closed_at: Date | null;
  created_at: ColumnType<Date, never, never>;
}

/** What one ingest run counted. */
export interface IngestCounts {
  tables: number;
  rows: number;
  files: number;
  /** Native files stored as new objects, and those whose bytes the store held already. */
  stored: number;
  deduplicated: number;
  held: number;
  bytes: number;
}

/** A native file held back for review (burned-in annotation, or no de-identifier for it). */
/**
 * A curator's decision on a PHI finding as it is kept: who took it (`user:<id>`, or
 * `system:lantern` for the demo catalogue) and when (ISO 8601). Runs recorded before either was
 * kept have neither.
 */
export type RecordedPhiDecision = PhiDecision & { by?: string; at?: string };

export interface HeldFile {
  path: string;
  reason: string;
}

/** One ingest run: a partner's delivery read into a dataset's draft. */
export interface IngestRunTable {
  id: string;
  dataset_id: string;
  version_id: string;
  status: 'running' | 'done' | 'failed';
  partner: string;
  counts: Json<Partial<IngestCounts>>;
  /** Cell problems (dates that would not shift …), located, never quoting a value. */
  problems: Json<unknown[]>;
  held: Json<HeldFile[]>;
  phi_findings: Json<PhiFinding[]>;
  phi_decisions: Json<RecordedPhiDecision[]>;
  error: string | null;
  created_by: string;
  started_at: ColumnType<Date, never, never>;
  finished_at: ColumnType<Date | null, Date | undefined, Date>;
  /** Renewed while the run's process works on it; a stale one was interrupted. */
  heartbeat_at: ColumnType<Date, never, Date>;
}

/** A project: where research is done (issue 7). */
export interface ProjectTable {
  id: string;
  title: string;
  purpose: string;
  status: ColumnType<ProjectStatus, ProjectStatus | undefined, ProjectStatus>;
  created_by: string;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  archived_at: Date | null;
  archived_by: string | null;
  /** Whether an admin enabled paid instance types for the project (until billing lands). */
  paid_instances: ColumnType<boolean, boolean | undefined, boolean>;
}

/** A member of a project and their role. */
export interface ProjectMemberTable {
  project_id: string;
  user_id: string;
  role: MemberRole;
  /** `user:<id>` of whoever added them (the creator, or the inviter). */
  added_by: string;
  joined_at: ColumnType<Date, never, never>;
}

/** An invitation by email; the link's secret is stored as its SHA-256. */
export interface ProjectInvitationTable {
  id: string;
  project_id: string;
  /** Normalised (trimmed, lower case). */
  email: string;
  role: MemberRole;
  token_hash: string;
  invited_by: string;
  created_at: ColumnType<Date, never, never>;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
}

/** A project's access to one version of a dataset, and the answer to its request. */
export interface ProjectDatasetTable {
  id: string;
  project_id: string;
  dataset_id: string;
  version_id: string;
  status: AccessStatus;
  requested_by: string;
  requested_at: ColumnType<Date, Date | undefined, never>;
  decided_by: string | null;
  decided_at: Date | null;
  reason: string | null;
}

/** A curator's decision on a held file. */
export type HeldDecision = 'release' | 'exclude';

/**
 * A file an ingest held back for review, its de-identified bytes in the quarantine store (none
 * for a file no de-identifier reads), and the curator's decision on it.
 */
export interface IngestHeldFileTable {
  id: string;
  ingest_id: string;
  version_id: string;
  /** The published path the file would have (and has, once released). */
  path: string;
  /** The table and files column that name it (an excluded file's cells are emptied). */
  table_name: string;
  column_name: string;
  format: 'dicom' | 'unreadable';
  reason: string;
  /** Its key in the quarantine store. */
  quarantine_key: string | null;
  size: ColumnType<string | null, number | null, number | null>;
  decision: HeldDecision | null;
  note: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: ColumnType<Date, never, never>;
}

/** Where a remote ingest's upload stands. */
export type IngestUploadStatus = 'uploading' | 'running' | 'done' | 'refused' | 'failed';

/** A delivery sent to the server for a remote ingest (its files' bytes in a staging folder). */
export interface IngestUploadTable {
  id: string;
  /** `user:<id>` of the curator who declared it: nobody else sees it. */
  owner: string;
  status: IngestUploadStatus;
  declared_files: number;
  declared_bytes: ColumnType<string, number, number>;
  /** The run's last progress, once it ended (a running one's lives in its process). */
  progress: ColumnType<unknown, string | null | undefined, string | null>;
  /** Once done: the draft made. */
  summary: ColumnType<unknown, string | null | undefined, string | null>;
  /** Once refused: every problem of the delivery. */
  problems: ColumnType<unknown[], string | undefined, string>;
  error: string | null;
  created_at: ColumnType<Date, never, never>;
  /** When it was last sent to, run or ended (the service's clock): idle ones expire. */
  touched_at: Date;
  heartbeat_at: ColumnType<Date, never, Date>;
}

/** One declared file of an upload, and how many of its bytes the staging folder holds. */
export interface IngestUploadFileTable {
  upload_id: string;
  /** Its place in the declared list: how URLs name it (a path may hold a source identifier). */
  idx: number;
  path: string;
  size: ColumnType<string, number, number>;
  sha256: string | null;
  received: ColumnType<string, number | undefined, number>;
}

/** A notebook instance launched from a project (issue 8). */
export interface InstanceTable {
  id: string;
  project_id: string;
  user_id: string;
  type_name: string;
  free: boolean;
  state: InstanceState;
  failure_reason: string | null;
  backend_kind: string;
  /** The backend's handle as JSON; null until the backend took the launch. */
  handle: string | null;
  /** JSON: the mounted versions, `[{ slug, version }]`. */
  datasets: string;
  /** Jupyter's token, sealed with the deployment key (bound to the instance id); made at each start. */
  jupyter_token_sealed: string | null;
  /** HMAC of the token `ngsci` presents on the platform socket; made at each start. */
  platform_token_hash: string | null;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  started_at: Date | null;
  stopped_at: Date | null;
  /** The latest activity recorded (proxy traffic, Jupyter's own, a busy kernel). */
  last_activity_at: Date | null;
  /** When it was warned of its idle stop (migration 0029); cleared by activity. */
  idle_warned_at: Date | null;
  /** The server replica whose start holds it while `requested` or `starting` (migration 0035). */
  start_owner: string | null;
  /** Until when that start's lease runs; refreshed while the start goes on (migration 0035). */
  start_lease_until: Date | null;
}

/** One running stretch of an instance, per second, for billing and the project's spend. */
export interface InstanceUsageTable {
  id: string;
  instance_id: string;
  type_name: string;
  price_cents_per_hour: number;
  user_id: string;
  project_id: string;
  started_at: Date;
  ended_at: Date;
  closed: ColumnType<boolean, boolean | undefined, boolean>;
}

/** A release request (the airlock, migration 0036): files asked to leave, and the decision. */
export interface ReleaseRequestTable {
  id: string;
  project_id: string;
  requested_by: string;
  /** The instance it was made from. */
  instance_id: string | null;
  purpose: string;
  state: ColumnType<ReleaseState, ReleaseState | undefined, ReleaseState>;
  /** Set by the server (milliseconds, as list cursors carry them), never by the database. */
  requested_at: ColumnType<Date, Date, never>;
  /** Who decided, or withdrew. */
  decided_by: string | null;
  decided_at: Date | null;
  decision_reason: string | null;
  file_count: number;
  total_bytes: ColumnType<string, number, never>;
  flagged_files: number;
}

/** A file of a release request: its bytes in the object store, its disclosure checks. */
export interface ReleaseFileTable {
  id: string;
  request_id: string;
  position: number;
  name: string;
  bytes: ColumnType<string, number, never>;
  sha256: string;
  media_type: string;
  object_key: string;
  checks: Json<ReleaseCheck[]>;
}

/** The whole database, as Kysely sees it. */
export interface Database {
  audit_inbox: AuditInboxTable;
  audit_event: AuditEventTable;
  users: UsersTable;
  sessions: SessionsTable;
  one_time_links: OneTimeLinksTable;
  auth_throttle: AuthThrottleTable;
  api_tokens: ApiTokensTable;
  email_outbox: EmailOutboxTable;
  terms_version: TermsVersionTable;
  terms_acceptance: TermsAcceptanceTable;
  recovery_codes: RecoveryCodesTable;
  deployment_key: DeploymentKeyTable;
  dataset_category: DatasetCategoryTable;
  dataset: DatasetTable;
  dataset_version: DatasetVersionTable;
  dataset_version_file: DatasetVersionFileTable;
  dataset_report: DatasetReportTable;
  ingest_run: IngestRunTable;
  project: ProjectTable;
  project_member: ProjectMemberTable;
  project_invitation: ProjectInvitationTable;
  project_dataset: ProjectDatasetTable;
  ingest_held_file: IngestHeldFileTable;
  ingest_upload: IngestUploadTable;
  ingest_upload_file: IngestUploadFileTable;
  instance: InstanceTable;
  instance_usage: InstanceUsageTable;
  release_request: ReleaseRequestTable;
  release_file: ReleaseFileTable;
}
