/**
 * Instances (issue 8): notebooks launched from projects, next to the data. The service owns each
 * instance's record and moves it only through the core state machine (`nextState`); the compute
 * backend (local, Slurm, Kubernetes) only starts, looks, stops and finds again.
 *
 * A launch is checked and recorded as `requested` in one transaction (member, role, project open,
 * type, the datasets held at those versions, the free quota or the project's paid types, the
 * limit on concurrent starts), then started: dataset views materialised, folders and the platform
 * socket prepared (for a sandbox that binds it), fresh tokens made, the backend handed a LaunchSpec, and the start watched (polled
 * every `startPollMs` of the backend) until the notebook answers. A launch or restart waits for
 * that up to `startWaitMs` and says whether it is still under way (then answered 202): the start
 * goes on in the background, and its row is its job, so a server that dies first loses nothing
 * (the reconciler starts a `requested` instance no start in this process holds). The reconciler
 * (`reconcile`, run by a PeriodicWorker) polls live instances, moves them and writes their usage
 * per second; at boot `restore` takes back what the backend still runs. Every action is an audit
 * event.
 *
 * Idle culling is a step of the reconciler: the proxy reports traffic (`recordActivity`, written at
 * most once a minute per instance), Jupyter is asked for its own activity and its kernels' states
 * once the instance looks idle (and a kernel Jupyter calls neither idle nor busy is asked itself,
 * compute/kernel-probe.ts), and `decideIdle` (@lantern/core/instances) keeps, warns (audited,
 * emailed to the launcher, shown as `idleStopAt`) or stops it through the state machine.
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, type Principal } from '@lantern/core';
import {
  decideIdle,
  idleStopAt,
  isFreeType,
  isWarningStanding,
  kernelsToAsk,
  latestActivity,
  nextState,
  type IdlePolicy,
  refuseDuplicateMounts,
  type InstanceEvent,
  type InstanceState,
  type InstanceType,
  type KernelObservation,
  type LaunchRequest,
} from '@lantern/core/instances';
import { isProjectOpen, refuseAction } from '@lantern/core/projects';
import type { ReleaseLimits } from '@lantern/core/releases';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type {
  BackendHandle,
  BackendState,
  ComputeBackend,
  DatasetMount,
  NotebookEndpoint,
} from '../../compute/compute-backend.js';
import { askKernels } from '../../compute/kernel-probe.js';
import {
  NotebookActivityError,
  readNotebookActivity,
  type KernelActivity,
} from '../../compute/notebook-activity.js';
import type { ResolvedInstance } from '../../compute/proxy/instance-proxy.js';
import type { DatasetViews } from '../../compute/dataset-view.js';
import type { DeploymentKey } from '../../crypto/deployment-key.js';
import type { Database } from '../../db/schema.js';
import { usersRepository } from '../../repositories/identity/users.repository.js';
import {
  instancesRepository,
  type InstanceRow,
  type LiveInstanceRow,
  type UsageRow,
} from '../../repositories/instances/instances.repository.js';
import {
  projectsRepository,
  type MemberRow,
  type ProjectRow,
} from '../../repositories/projects/projects.repository.js';
import {
  currentRequestContext,
  instanceRequestContext,
  runOutsideRequest,
  runWithRequestContext,
} from '../../request-context.js';
import type { AuditService } from '../audit/audit.service.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { EmailService } from '../email/email.service.js';
import type { ReleaseService } from '../releases/release.service.js';
import { PlatformSockets, type PlatformApi, type PlatformCall } from './platform-socket.js';

/** An instance as its project's members see it. */
export interface Instance {
  id: string;
  projectId: string;
  userId: string;
  type: string;
  state: InstanceState;
  /** Why it failed, or how it ended when it ended on its own. */
  failureReason: string | null;
  datasets: { slug: string; version: string }[];
  /** Where the proxy serves its notebook (`/instances/<id>/`). */
  url: string;
  createdAt: string;
  startedAt: string | null;
  stoppedAt: string | null;
  lastActivityAt: string | null;
  /**
   * When a warned idle instance will be stopped unless it is used (idle culling); null unless a
   * warning stands.
   */
  idleStopAt: string | null;
}

/** What a launch or restart answers. */
export interface StartAnswer {
  instance: Instance;
  /** Still `requested` or `starting` when the wait ended: the start goes on in the background. */
  pending: boolean;
}

/** One running stretch of an instance, as billing reads it. */
export interface InstanceUsage {
  instanceId: string;
  type: string;
  userId: string;
  projectId: string;
  priceCentsPerHour: number;
  startedAt: string;
  endedAt: string;
  seconds: number;
  closed: boolean;
}

export interface InstanceServiceOptions {
  dataDir: string;
  types: readonly InstanceType[];
  /** More instances than this requested or starting at once: 429 with a jittered Retry-After. */
  maxConcurrentStarts: number;
  /** Idle culling (LANTERN_INSTANCE_IDLE_MINUTES and _WARNING_MINUTES); idleMs 0 is off. */
  idle: IdlePolicy;
  /** Where people reach the server, for the link in the idle warning's email. */
  links: { base: string };
  /** The service's clock (tests move it forward instead of waiting an hour). */
  now?: () => Date;
  /** How long a launch or restart waits for the instance to run (or fail) before answering. */
  startWaitMs: number;
  /**
   * How long a start's lease runs unless renewed (it is, every third of it, while the start goes
   * on); another replica takes a start over only once it expired. START_LEASE_MS when unset.
   */
  startLeaseMs?: number;
  /** Release requests, made from inside instances (ngsci.request_release). */
  releases: ReleaseService;
}

/** The Jupyter token and where the notebook listens: for the proxy, never for a browser. */
export interface NotebookConnection {
  endpoint: NotebookEndpoint;
  baseUrl: string;
  token: string;
}

const MOUNT_ROOT = '/home/ngsci/datasets';
/** PostgreSQL's unique_violation, on the free quota's index (migration 0023): a race lost. */
const UNIQUE_VIOLATION = '23505';
const FREE_QUOTA_INDEX = 'instance_one_free_per_user';
/** Traffic through the proxy is written to the instance's row at most this often. */
export const ACTIVITY_WRITE_MS = 60_000;
/** A backend that does not say how often its starts may be polled is polled every second. */
const DEFAULT_START_POLL_MS = 1000;
/** A start is watched this long; after that the reconciler's slower polls go on with it. */
const START_WATCH_MS = 5 * 60 * 1000;
/** While a start is watched, its row is read every this many polls (has someone stopped it?). */
const ROW_READ_EVERY_POLLS = 8;
/**
 * A start's lease: long enough that a busy database or a slow view of a large dataset does not
 * lose it between renewals, short enough that a dead replica's launch is taken over soon.
 */
const START_LEASE_MS = 30_000;

export class InstanceService implements PlatformApi {
  readonly sockets: PlatformSockets;
  /** Starts and stops under way in this process, so the reconciler does not repeat them. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly types: ReadonlyMap<string, InstanceType>;
  /**
   * Proxy traffic per instance in this process: when it was last seen, and last written (so that
   * a notebook's many requests cost one write a minute, and the reconciler still sees the latest).
   */
  private readonly activity = new Map<string, { seen: number; written: number }>();
  /**
   * Per running instance in this process, its kernels that did not reply when last asked: asked
   * again on the next pass whatever Jupyter then says (idle.ts), until they reply.
   */
  private readonly doubtedKernels = new Map<string, ReadonlySet<string>>();
  private readonly now: () => Date;
  /** Aborted at close: starts being watched leave the rest to the next server's reconciler. */
  private readonly closing = new AbortController();
  /** This replica's name on the starts it holds (`start_owner`): one per service, never reused. */
  readonly replica = `srv_${randomBytes(8).toString('hex')}`;
  private readonly startLeaseMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly email: EmailService,
    private readonly catalog: CatalogService,
    private readonly backend: ComputeBackend,
    private readonly views: DatasetViews,
    private readonly key: DeploymentKey,
    private readonly logger: Logger,
    private readonly options: InstanceServiceOptions,
  ) {
    this.types = new Map(options.types.map((type) => [type.name, type]));
    this.sockets = new PlatformSockets(options.dataDir, this);
    this.now = options.now ?? (() => new Date());
    this.startLeaseMs = options.startLeaseMs ?? START_LEASE_MS;
  }

  /**
   * Another replica of this service on the same database, as another server process would be:
   * its own name, starts, leases and platform sockets, with `backend` and `options` changed (tests
   * of several replicas make them so). Nothing reconciles it periodically: its maker calls
   * `reconcile` and `close`.
   */
  replicaWith(
    backend: ComputeBackend,
    options: Partial<InstanceServiceOptions> = {},
  ): InstanceService {
    return new InstanceService(
      this.db,
      this.audit,
      this.email,
      this.catalog,
      backend,
      this.views,
      this.key,
      this.logger,
      { ...this.options, ...options },
    );
  }

  /** The instance types people may launch. */
  listTypes(): InstanceType[] {
    return [...this.types.values()];
  }

  /** The project's instances, newest first (any member). */
  async list(userId: string, projectId: string): Promise<Instance[]> {
    await this.requireMember(this.db, projectId, userId);
    return (await instancesRepository.ofProject(this.db, projectId)).map((row) =>
      present(row, this.options.idle),
    );
  }

  /** One instance, for a member of its project; anyone else is told it does not exist. */
  async get(userId: string, instanceId: string): Promise<Instance> {
    const row = await instancesRepository.byId(this.db, instanceId);
    if (row === undefined) {
      throw notFound(instanceId);
    }
    await this.requireMember(this.db, row.project_id, userId, instanceId);
    return present(row, this.options.idle);
  }

  /** Its usage records, oldest first (for a member of its project). */
  async usage(userId: string, instanceId: string): Promise<InstanceUsage[]> {
    await this.get(userId, instanceId);
    return (await instancesRepository.usageOf(this.db, instanceId)).map(presentUsage);
  }

  /**
   * Launches an instance of `request.type` mounting `request.datasets` for `userId` in the
   * project. Answers once it runs or failed, or after `startWaitMs` with the start still under
   * way (`pending`), which goes on in the background.
   */
  async launch(userId: string, projectId: string, request: LaunchRequest): Promise<StartAnswer> {
    const duplicate = refuseDuplicateMounts(request.datasets);
    if (duplicate !== null) {
      throw new AppError('validation_failed', duplicate, {
        errors: [{ path: 'body.datasets', message: duplicate }],
      });
    }
    const type = this.typeOf(request.type);
    const id = `ins_${randomBytes(8).toString('hex')}`;
    await this.inTransaction(async (trx) => {
      const { project } = await this.requireLauncher(trx, projectId, userId);
      await this.refuseUnheldDatasets(trx, projectId, request.datasets);
      await this.refuseOverQuota(trx, project, userId, type);
      await this.refuseTooManyStarts(trx);
      await instancesRepository.insert(trx, {
        id,
        project_id: projectId,
        user_id: userId,
        type_name: type.name,
        free: isFreeType(type),
        state: 'requested',
        backend_kind: this.backend.kind,
        datasets: JSON.stringify(request.datasets),
        // This replica starts it next; another takes over only if the lease runs out.
        start_owner: this.replica,
        start_lease_until: this.leaseUntil(),
      });
      await this.audit.record(trx, {
        action: 'instance.launch',
        target: `instance:${id}`,
        projectId,
        details: { type: type.name, datasets: request.datasets },
      });
    });
    return this.answerStart(id, this.startRequested(id));
  }

  /**
   * Asks for the instance's stop (its launcher, or an owner or editor of the project). Answers
   * `stopping` (or `stopped` for one never started); the backend's stop finishes in the background.
   */
  async stop(userId: string, instanceId: string): Promise<Instance> {
    await this.inTransaction(async (trx) => {
      const row = await this.lockedRow(trx, instanceId);
      const { member } = await this.requireMember(trx, row.project_id, userId, instanceId);
      if (row.user_id !== userId) {
        refuseFor(member, 'project.launch_instance');
      }
      await this.moveLocked(trx, row, 'stop', {}, { by: `user:${userId}` });
    });
    this.finishStop(instanceId);
    return present(await this.row(instanceId), this.options.idle);
  }

  /**
   * Starts a stopped or failed instance again, with the same type and datasets; answers as a
   * launch does.
   */
  async restart(userId: string, instanceId: string): Promise<StartAnswer> {
    await this.inTransaction(async (trx) => {
      const row = await this.lockedRow(trx, instanceId);
      const { project } = await this.requireLauncher(trx, row.project_id, userId, instanceId);
      const type = this.typeOf(row.type_name);
      await this.refuseUnheldDatasets(trx, row.project_id, mountedOf(row));
      await this.refuseOverQuota(trx, project, userId, type);
      await this.refuseTooManyStarts(trx);
      await this.moveLocked(
        trx,
        row,
        'restart',
        {
          user_id: userId,
          free: isFreeType(type),
          handle: null,
          failure_reason: null,
          stopped_at: null,
          start_owner: this.replica,
          start_lease_until: this.leaseUntil(),
        },
        { by: `user:${userId}` },
      );
    });
    return this.answerStart(instanceId, this.startRequested(instanceId));
  }

  /**
   * Where a running instance's notebook listens, with its token: for the proxy (which checks the
   * caller's membership first) and the server's own tests; null unless running.
   */
  async connection(instanceId: string): Promise<NotebookConnection | null> {
    const row = await instancesRepository.byId(this.db, instanceId);
    if (row?.state !== 'running' || row.handle === null || row.jupyter_token_sealed === null) {
      return null;
    }
    const state = await this.backend.poll(parseHandle(row.handle));
    if (state.state !== 'running') {
      return null;
    }
    return {
      endpoint: state.endpoint,
      baseUrl: baseUrlOf(instanceId),
      token: this.key.open('instance-token', instanceId, row.jupyter_token_sealed).toString('utf8'),
    };
  }

  /**
   * The proxy's resolver: a running instance for a signed-in, admitted member of its project, with
   * where its notebook listens and its token; null for anyone else and anything else (404 alike).
   */
  async resolveForProxy(
    instanceId: string,
    principal: Principal,
  ): Promise<ResolvedInstance | null> {
    if (principal.kind !== 'user') {
      return null;
    }
    const row = await instancesRepository.byId(this.db, instanceId);
    if (row === undefined) {
      return null;
    }
    try {
      const { project } = await this.requireMember(this.db, row.project_id, principal.userId);
      if (project.status !== 'active') {
        return null;
      }
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') {
        return null;
      }
      throw error;
    }
    const connection = await this.connection(instanceId);
    return connection === null
      ? null
      : { endpoint: connection.endpoint, token: connection.token, projectId: row.project_id };
  }

  /**
   * Lets an admin enable (or disable) paid instance types for a project, until billing lands.
   * Audited; a project that does not exist is 404.
   */
  async setPaidInstances(projectId: string, enabled: boolean): Promise<void> {
    await this.inTransaction(async (trx) => {
      if (!(await instancesRepository.setPaidInstances(trx, projectId, enabled))) {
        throw new AppError('not_found', `there is no project ${projectId}`);
      }
      await this.audit.record(trx, {
        action: 'project.paid_instances',
        target: `project:${projectId}`,
        projectId,
        details: { enabled },
      });
    });
  }

  /**
   * One pass of the reconciler: starts requested instances, polls starting and running ones and
   * moves them, extends the usage of running ones to now, finishes stops.
   */
  async reconcile(): Promise<void> {
    const rows = await instancesRepository.liveInstances(this.db);
    for (const row of rows) {
      if (this.inFlight.has(row.id)) {
        continue;
      }
      try {
        await this.reconcileOne(row);
      } catch (error) {
        this.logger.error({ err: error, instanceId: row.id }, 'instance reconciliation failed');
      }
    }
    // Traffic and doubts remembered for instances no longer live are of no use to the culler.
    const live = new Set(rows.filter((row) => row.state === 'running').map((row) => row.id));
    for (const remembered of [this.activity, this.doubtedKernels]) {
      for (const id of remembered.keys()) {
        if (!live.has(id)) {
          remembered.delete(id);
        }
      }
    }
  }

  /**
   * Traffic through the proxy to a running instance (an HTTP request, a websocket message):
   * remembered at once for this process's culler, and written to the instance's row (withdrawing
   * any idle warning) at most once per ACTIVITY_WRITE_MS.
   */
  async recordActivity(instanceId: string): Promise<void> {
    const now = this.now().getTime();
    const known = this.activity.get(instanceId);
    if (known !== undefined && now - known.written < ACTIVITY_WRITE_MS) {
      known.seen = Math.max(known.seen, now);
      return;
    }
    this.activity.set(instanceId, { seen: now, written: now });
    await instancesRepository.recordActivity(this.db, instanceId, new Date(now));
  }

  /**
   * At boot: the backend takes back the instances the database says are live; running ones are
   * served their platform sockets again, vanished ones marked stopped or failed with why.
   */
  async restore(): Promise<void> {
    const rows = (await instancesRepository.liveInstances(this.db)).filter(
      (row) => row.state !== 'requested',
    );
    const withHandles = rows.filter((row) => row.handle !== null);
    for (const row of rows.filter((r) => r.handle === null)) {
      // Another replica may be starting it still: only an expired lease says its start died.
      if (row.state === 'starting' && !this.mayTakeStart(row)) {
        continue;
      }
      await this.failAbandonedStart(row);
    }
    const states = await this.backend.restore(
      withHandles.map((row) => parseHandle(row.handle ?? '')),
    );
    for (const [i, row] of withHandles.entries()) {
      const state = states[i];
      if (state !== undefined) {
        await this.apply(row, state, 'restore');
        if (state.state === 'starting' && row.state === 'starting') {
          this.watchInBackground(row.id, parseHandle(row.handle ?? ''));
        }
      }
    }
  }

  /**
   * Waits for starts and stops under way (a start being watched stops watching), and stops
   * serving platform sockets.
   */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.inFlight.values()]);
    await this.sockets.closeAll();
  }

  // The platform socket's side (PlatformApi).

  async authenticate(instanceId: string, token: string): Promise<boolean> {
    const row = await instancesRepository.byId(this.db, instanceId);
    const hash = row?.platform_token_hash ?? null;
    if (row === undefined || hash === null || !['starting', 'running'].includes(row.state)) {
      return false;
    }
    const expected = Buffer.from(hash, 'hex');
    const given = this.key.hmac('instance-platform-token', token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  async datasets(instanceId: string): Promise<{ slug: string; version: string; path: string }[]> {
    const row = await this.row(instanceId);
    return mountedOf(row).map(({ slug, version }) => ({
      slug,
      version,
      path: `${MOUNT_ROOT}/${slug}/${version}`,
    }));
  }

  async stopFromInside(instanceId: string): Promise<string> {
    const row = await this.row(instanceId);
    await this.asInstance(row, () =>
      this.inTransaction(async (trx) => {
        const locked = await this.lockedRow(trx, instanceId);
        await this.moveLocked(trx, locked, 'stop', {}, { by: `instance:${instanceId}` });
      }),
    );
    this.finishStop(instanceId);
    return (await this.row(instanceId)).state;
  }

  async submitContestEntry(
    instanceId: string,
    entry: { filename: string; description: string; bytes: number },
  ): Promise<{ accepted: boolean; message: string }> {
    const row = await this.row(instanceId);
    const message = 'no contest is open';
    await this.asInstance(row, () =>
      this.audit.recordAlone({
        action: 'contest.submit',
        target: `instance:${instanceId}`,
        projectId: row.project_id,
        outcome: 'denied',
        details: {
          filename: entry.filename.slice(0, 200),
          bytes: entry.bytes,
          reason: message,
        },
      }),
    );
    return { accepted: false, message };
  }

  get releaseLimits(): ReleaseLimits {
    return this.options.releases.limits;
  }

  get maxReleaseArchiveBytes(): number {
    return this.options.releases.maxArchiveBytes;
  }

  async requestRelease(
    instanceId: string,
    request: { purpose: string; archive: Uint8Array },
  ): Promise<{ id: string; state: string; files: number }> {
    const row = await this.row(instanceId);
    // The instance's project and the person who launched it are the requester.
    return this.asInstance(row, () =>
      this.options.releases.request(
        { projectId: row.project_id, userId: row.user_id, instanceId },
        request,
      ),
    );
  }

  async recordCall(call: PlatformCall): Promise<void> {
    await this.audit.recordAlone({
      action: 'platform.call',
      outcome: call.status < 400 ? 'allowed' : call.status === 401 ? 'denied' : 'failed',
      details: {
        via: call.via,
        method: call.method,
        path: call.path,
        status: call.status,
        instance: call.instanceId,
      },
    });
    // An answered call is activity, written only once the call is on record: a call refused for
    // want of its record changes nothing. Activity is no reason to withhold an answer.
    if (call.instanceId !== null && call.status < 400) {
      await this.touch(call.instanceId).catch((error: unknown) => {
        this.logger.warn({ err: error, instanceId: call.instanceId }, 'recording activity failed');
      });
    }
  }

  logFailure(error: unknown, call: { instanceId: string; path: string }): void {
    this.logger.error(
      { err: error, instanceId: call.instanceId, path: call.path.split('?')[0] },
      'a platform call failed',
    );
  }

  // Starting and stopping.

  /**
   * Waits for `start` up to `startWaitMs`, then answers the instance as it is then. A start still
   * under way goes on (tracked, so the reconciler leaves it alone); one that throws is logged and
   * left to the reconciler, whose next pass finds its row.
   */
  private async answerStart(instanceId: string, start: Promise<void>): Promise<StartAnswer> {
    const settled = start.catch((error: unknown) => {
      this.logger.error(
        { err: error, instanceId },
        'instance start failed; the reconciler retries',
      );
    });
    if (this.options.startWaitMs > 0) {
      const waited = new AbortController();
      await Promise.race([
        settled,
        sleep(this.options.startWaitMs, undefined, { signal: waited.signal }).catch(
          () => undefined,
        ),
      ]);
      waited.abort();
    }
    const instance = present(await this.row(instanceId), this.options.idle);
    return { instance, pending: instance.state === 'requested' || instance.state === 'starting' };
  }

  /**
   * Starts a `requested` instance: claims it (`starting`, fresh tokens), prepares everything it
   * binds, hands the backend its LaunchSpec, and watches it until the notebook answers; a refusal
   * or failure marks it failed with why.
   */
  private startRequested(instanceId: string): Promise<void> {
    return this.track(instanceId, () =>
      this.holdingLease(instanceId, () => this.claimAndStart(instanceId)),
    );
  }

  /** The body of startRequested, under its lease. */
  private async claimAndStart(instanceId: string): Promise<void> {
    const row = await this.row(instanceId);
    if (row.state !== 'requested') {
      return;
    }
    const token = randomBytes(24).toString('hex');
    const platformToken = randomBytes(24).toString('hex');
    const claimed = await this.claimStart(instanceId, {
      jupyter_token_sealed: this.key.seal('instance-token', instanceId, Buffer.from(token)),
      platform_token_hash: this.key.hmac('instance-platform-token', platformToken).toString('hex'),
    });
    if (!claimed) {
      return;
    }
    try {
      const type = this.typeOf(row.type_name);
      const datasets = await this.mountsOf(row);
      // Served before the sandbox starts, only for a sandbox that binds it.
      const platformSocket = this.backend.bindsPlatformSocket()
        ? await this.sockets.open(instanceId)
        : this.sockets.socketPathOf(instanceId);
      const handle = await this.backend.start({
        instanceId,
        type,
        baseUrl: baseUrlOf(instanceId),
        token,
        datasets,
        projectPath: await this.folder('project-files', row.project_id, 0o711),
        homePath: await this.folder('homes', row.user_id, 0o711),
        platformSocket,
        platformToken,
      });
      const stored = await instancesRepository.storeStartHandle(this.db, instanceId, this.replica, {
        handle: JSON.stringify(handle),
        last_activity_at: this.now(),
        idle_warned_at: null,
      });
      if (!stored) {
        // Taken over while the backend started it (this replica's lease ran out): what it
        // started is nobody's, and is stopped.
        await this.backend.stop(handle);
        await this.sockets.close(instanceId);
        return;
      }
      // The notebook's answer is the system's news, as the reconciler's would be, not the
      // launcher's request's (which may have been answered 202 long before).
      await runOutsideRequest(() => this.watchStart(instanceId, handle));
    } catch (error) {
      await this.sockets.close(instanceId);
      await this.move(instanceId, 'starting', 'fail', {
        failure_reason: messageOf(error),
      });
      // The backend may have started something before the failure (a sandbox whose handle was
      // never stored): found by the instance's id, it is stopped.
      await this.stopLeftover(instanceId);
    }
  }

  /**
   * Claims a `requested` instance for this replica's start (`starting`, its lease taken), unless
   * it moved on or another replica's start holds it. Whether it was claimed.
   */
  private claimStart(
    instanceId: string,
    changes: Pick<InstanceRow, 'jupyter_token_sealed' | 'platform_token_hash'>,
  ): Promise<boolean> {
    return this.inTransaction(async (trx) => {
      const row = await this.lockedRow(trx, instanceId);
      if (row.state !== 'requested' || !this.mayTakeStart(row)) {
        return false;
      }
      await this.moveLocked(trx, row, 'start', {
        ...changes,
        start_owner: this.replica,
        start_lease_until: this.leaseUntil(),
      });
      return true;
    });
  }

  /** Whether this replica may start (or fail) `row`: its own, unowned, or its lease expired. */
  private mayTakeStart(row: InstanceRow): boolean {
    return (
      row.start_owner === null ||
      row.start_owner === this.replica ||
      row.start_lease_until === null ||
      row.start_lease_until <= this.now()
    );
  }

  private leaseUntil(): Date {
    return new Date(this.now().getTime() + this.startLeaseMs);
  }

  /** Runs `work` (a start) renewing this replica's lease on the instance every third of it. */
  private async holdingLease(instanceId: string, work: () => Promise<void>): Promise<void> {
    const renew = () => {
      instancesRepository
        .renewStartLease(this.db, instanceId, this.replica, this.leaseUntil())
        .catch((error: unknown) => {
          this.logger.warn({ err: error, instanceId }, 'renewing a start lease failed');
        });
    };
    const timer = setInterval(renew, Math.max(1, Math.floor(this.startLeaseMs / 3)));
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * A start that died between its claim and storing the backend's handle (its server stopped,
   * its lease expired): the instance fails with why, and whatever the backend runs of it is
   * found by the instance's id and stopped.
   */
  private async failAbandonedStart(row: InstanceRow): Promise<void> {
    await this.move(row.id, row.state, 'fail', {
      failure_reason: 'the server stopped while it was starting this instance',
    });
    await this.stopLeftover(row.id);
  }

  /** Stops what the backend runs of `instanceId` without a stored handle; logged if it cannot. */
  private async stopLeftover(instanceId: string): Promise<void> {
    try {
      const found = await this.backend.find(instanceId);
      if (found !== null) {
        await this.backend.stop(found);
      }
    } catch (error) {
      this.logger.error(
        { err: error, instanceId },
        'stopping what an abandoned start left failed; the next start of it stops it',
      );
    }
  }

  /** Starts a `requested` instance without waiting for it (the reconciler's pass goes on). */
  private startInBackground(instanceId: string): void {
    this.startRequested(instanceId).catch((error: unknown) => {
      this.logger.error(
        { err: error, instanceId },
        'instance start failed; the reconciler retries',
      );
    });
  }

  /** Watches a `starting` instance taken back at boot, as its start would have. */
  private watchInBackground(instanceId: string, handle: BackendHandle): void {
    this.track(instanceId, () => this.watchStart(instanceId, handle)).catch((error: unknown) => {
      this.logger.error(
        { err: error, instanceId },
        'watching a start failed; the reconciler goes on',
      );
    });
  }

  /**
   * Polls a start every `startPollMs` of the backend until the notebook answers (running), it
   * ends, or someone moved the instance on (a stop): the reconciler's interval is seconds, a
   * notebook's start one or two. After START_WATCH_MS, or at close, the reconciler goes on.
   */
  private async watchStart(instanceId: string, handle: BackendHandle): Promise<void> {
    const intervalMs = this.backend.startPollMs ?? DEFAULT_START_POLL_MS;
    const deadline = performance.now() + START_WATCH_MS;
    const { signal } = this.closing;
    for (let polls = 0; !signal.aborted && performance.now() < deadline; polls++) {
      let state: BackendState;
      try {
        state = await this.backend.poll(handle);
      } catch (error) {
        // A poll that fails says nothing of the instance: the reconciler asks again.
        this.logger.warn({ err: error, instanceId }, 'polling a start failed');
        return;
      }
      if (state.state !== 'starting' || polls % ROW_READ_EVERY_POLLS === 0) {
        const row = await this.row(instanceId);
        if (row.state !== 'starting') {
          return;
        }
        if (state.state !== 'starting') {
          await this.apply(row, state, 'poll');
          return;
        }
      }
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Stops the backend's side of a `stopping` instance, then marks it stopped. */
  private finishStop(instanceId: string): void {
    void this.track(instanceId, async () => {
      const row = await this.row(instanceId);
      if (row.state !== 'stopping') {
        if (row.state === 'stopped') {
          await this.sockets.close(instanceId);
        }
        return;
      }
      if (row.handle !== null) {
        await this.backend.stop(parseHandle(row.handle));
      }
      // The socket goes before the instance reads as stopped, so that a stopped instance has none.
      await this.sockets.close(instanceId);
      await this.move(instanceId, 'stopping', 'stopped', { stopped_at: this.now() });
    }).catch((error: unknown) => {
      this.logger.error({ err: error, instanceId }, 'instance stop failed; the reconciler retries');
    });
  }

  private async reconcileOne(row: LiveInstanceRow): Promise<void> {
    const ended = endedAccess(row);
    if (ended !== null && row.state !== 'stopping') {
      // Access ended (an archived project, a suspended person): the instance stops at once.
      await this.move(row.id, row.state, 'stop', { failure_reason: ended });
      this.finishStop(row.id);
      return;
    }
    switch (row.state) {
      case 'requested':
        // No start of it is under way here (the loop skips those): its server died, or it is new
        // and its launcher's replica starts it (until that start's lease runs out).
        if (this.mayTakeStart(row)) {
          this.startInBackground(row.id);
        }
        return;
      case 'stopping':
        this.finishStop(row.id);
        return;
      case 'starting':
      case 'running':
        if (row.handle === null) {
          // Claimed by a start not under way in this process: another replica's, still going on
          // while its lease is renewed, or one that died with its server.
          if (row.state === 'running' || this.mayTakeStart(row)) {
            await this.failAbandonedStart(row);
          }
          return;
        }
        {
          const state = await this.backend.poll(parseHandle(row.handle));
          await this.apply(row, state, 'poll');
          if (row.state === 'running' && state.state === 'running') {
            await this.cullIfIdle(row, state.endpoint);
          }
        }
        return;
      case 'stopped':
      case 'failed':
        return;
      default:
        row.state satisfies never;
    }
  }

  // Idle culling.

  /**
   * The culler's step for a running instance: nothing while the activity recorded is recent;
   * otherwise Jupyter is asked for its own activity and its kernels' states, and decideIdle keeps
   * the instance (its activity written, any warning withdrawn), warns, or stops it.
   */
  private async cullIfIdle(row: InstanceRow, endpoint: NotebookEndpoint): Promise<void> {
    const policy = this.options.idle;
    if (policy.idleMs <= 0 || row.jupyter_token_sealed === null) {
      return;
    }
    const now = this.now();
    const recorded =
      latestActivity([row.last_activity_at, row.started_at, this.seenAt(row.id)]) ?? row.created_at;
    if (
      row.idle_warned_at === null &&
      now.getTime() - recorded.getTime() < policy.idleMs - policy.warningMs
    ) {
      return;
    }
    const token = this.key
      .open('instance-token', row.id, row.jupyter_token_sealed)
      .toString('utf8');
    let notebook;
    try {
      notebook = await readNotebookActivity(endpoint, baseUrlOf(row.id), token);
    } catch (error) {
      if (error instanceof NotebookActivityError) {
        // Without the kernels' states nothing may be stopped: kept, and asked again next time.
        this.logger.warn({ instanceId: row.id, reason: error.message }, 'idle check skipped');
        return;
      }
      throw error;
    }
    const last =
      latestActivity([
        recorded,
        notebook.lastActivity,
        ...notebook.kernels.map((k) => k.lastActivity),
      ]) ?? recorded;
    const decide = async (askEvery: boolean) =>
      decideIdle(
        {
          lastActivityAt: last,
          kernels: await this.observeKernels(row.id, endpoint, token, notebook.kernels, askEvery),
          warnedAt: row.idle_warned_at,
          now,
        },
        policy,
      );
    let decision = await decide(false);
    if (decision.action === 'cull' && notebook.kernels.length > 0) {
      // Jupyter's `idle` is not enough for the stop itself: jupyter_server 1.23 records a kernel
      // idle mid-cell when a websocket opened to it (a browser reconnecting) follows a state it
      // had missed (idle.ts). Every kernel is asked once, now; one that does not reply keeps it.
      decision = await decide(true);
    }
    switch (decision.action) {
      case 'keep':
        // A busy kernel is activity now: the instance is not looked at again for a while.
        await this.keepActive(row, decision.busy ? now : last);
        return;
      case 'warn':
        await this.warnIdle(row.id, last, now, decision.stopAt);
        return;
      case 'cull':
        await this.cullIdle(row.id, last, decision.idleMinutes);
        return;
      default:
        decision satisfies never;
    }
  }

  /**
   * The kernels as decideIdle takes them: Jupyter's state, and for a state that settles nothing
   * (`kernelsToAsk`: Jupyter missed the kernel's `busy`, or never said), for one silent when last
   * asked, and with `askEvery` for every kernel not busy, the kernel's own answer; those that did
   * not reply are remembered, to be asked again. A kernel that cannot be asked counts as busy, like one that is silent. That cannot keep a dead
   * instance forever: a notebook server that does not answer fails the backend's poll (and the
   * instance with it) before anything here is asked, and jupyter_server drops a kernel that died
   * from its list (its restarter's `dead` callback); what is left, a kernel alive that does not
   * reply on its shell channel, is what a kernel running a cell looks like, kept as a busy one is.
   */
  private async observeKernels(
    instanceId: string,
    endpoint: NotebookEndpoint,
    token: string,
    kernels: readonly KernelActivity[],
    askEvery: boolean,
  ): Promise<KernelObservation[]> {
    const doubted = askEvery
      ? new Set(kernels.map((kernel) => kernel.id))
      : this.doubtedKernels.get(instanceId);
    const asked = kernelsToAsk(kernels, doubted);
    const answers = await askKernels(
      endpoint,
      baseUrlOf(instanceId),
      token,
      asked.map((kernel) => kernel.id),
    );
    const silent = new Set(
      asked.map((kernel) => kernel.id).filter((id) => answers.get(id) !== 'replied'),
    );
    if (silent.size > 0) {
      this.doubtedKernels.set(instanceId, silent);
    } else {
      this.doubtedKernels.delete(instanceId);
    }
    const unanswered = [...answers.values()].filter((answer) => answer !== 'replied');
    if (unanswered.length > 0) {
      // Counts only: which kernels, and what they run, are the researcher's.
      this.logger.info(
        {
          instanceId,
          asked: asked.length,
          silent: unanswered.filter((a) => a === 'silent').length,
        },
        'kernels Jupyter calls neither idle nor busy did not reply; counted busy',
      );
    }
    return kernels.map((kernel) => ({
      executionState: kernel.executionState,
      answer: answers.get(kernel.id) ?? null,
    }));
  }

  /** When this process last saw proxy traffic to the instance. */
  private seenAt(instanceId: string): Date | null {
    const seen = this.activity.get(instanceId)?.seen;
    return seen === undefined ? null : new Date(seen);
  }

  /** Writes activity found newer than the row's, and withdraws a warning it came after. */
  private async keepActive(row: InstanceRow, latest: Date): Promise<void> {
    const newer = row.last_activity_at === null || latest > row.last_activity_at;
    const withdrawn = row.idle_warned_at !== null && !isWarningStanding(row.idle_warned_at, latest);
    if (newer || withdrawn) {
      await instancesRepository.update(this.db, row.id, {
        last_activity_at: latest,
        ...(withdrawn ? { idle_warned_at: null } : {}),
      });
    }
  }

  /**
   * Warns that the instance stops at `stopAt` unless used: recorded on its row (the API's
   * `idleStopAt`), audited, and emailed to whoever launched it, in one transaction.
   */
  private async warnIdle(instanceId: string, last: Date, now: Date, stopAt: Date): Promise<void> {
    await this.inTransaction(async (trx) => {
      const row = await this.lockedRow(trx, instanceId);
      if (row.state !== 'running' || isWarningStanding(row.idle_warned_at, last)) {
        return;
      }
      const idleMinutes = Math.floor((now.getTime() - last.getTime()) / 60_000);
      await instancesRepository.update(trx, instanceId, {
        last_activity_at: last,
        idle_warned_at: now,
      });
      await this.audit.record(trx, {
        action: 'instance.idle_warning',
        target: `instance:${instanceId}`,
        projectId: row.project_id,
        details: { idleMinutes, stopAt: stopAt.toISOString() },
      });
      const launcher = await usersRepository.findById(trx, row.user_id);
      const project = await projectsRepository.project(trx, row.project_id);
      if (launcher !== undefined && project !== undefined) {
        await this.email.queue(trx, {
          kind: 'instance.idle_warning',
          to: launcher.email,
          subject: `Your instance in "${project.title}" stops at ${clockTime(stopAt)} unless used`,
          text: `Hello ${launcher.name},

your ${row.type_name} instance ${instanceId} in the project "${project.title}" has been idle for ${idleMinutes} minutes. It will be stopped at ${clockTime(stopAt)} unless it is used: open the notebook, or run a cell. A kernel running a cell is never stopped.

Your files in /home/ngsci and the project folder are kept; you can start the instance again from the project page.

The project: ${this.options.links.base}/projects/${row.project_id}
`,
        });
      }
    });
  }

  /**
   * Stops an idle instance through the state machine (audited `instance.idle_stop`, its usage
   * closed as at any stop), unless this process has seen traffic to it since `last`.
   */
  private async cullIdle(instanceId: string, last: Date, idleMinutes: number): Promise<void> {
    const stopped = await this.inTransaction(async (trx) => {
      const row = await this.lockedRow(trx, instanceId);
      const seen = this.seenAt(instanceId);
      if (row.state !== 'running' || (seen !== null && seen > last)) {
        return false;
      }
      await this.moveLocked(
        trx,
        row,
        'stop',
        { failure_reason: `stopped after ${idleMinutes} minutes idle`, idle_warned_at: null },
        { by: 'idle culler', action: 'instance.idle_stop' },
      );
      return true;
    });
    if (stopped) {
      this.activity.delete(instanceId);
      this.finishStop(instanceId);
    }
  }

  /** Moves `row` to what the backend says of it, and keeps its usage and socket in step. */
  private async apply(
    row: InstanceRow,
    state: BackendState,
    how: 'poll' | 'restore',
  ): Promise<void> {
    const now = this.now();
    switch (state.state) {
      case 'starting':
        if (how === 'restore') {
          await this.serveSocket(row);
        }
        return;
      case 'running':
        if (how === 'restore' || row.state === 'starting') {
          await this.serveSocket(row);
        }
        if (row.state === 'starting') {
          const type = this.types.get(row.type_name);
          await this.inTransaction(async (trx) => {
            const locked = await this.lockedRow(trx, row.id);
            if (locked.state !== 'starting') {
              return;
            }
            await this.moveLocked(trx, locked, 'ready', { started_at: now });
            await instancesRepository.openUsage(trx, {
              id: `use_${randomBytes(8).toString('hex')}`,
              instance_id: row.id,
              type_name: row.type_name,
              price_cents_per_hour: type?.priceCentsPerHour ?? 0,
              user_id: row.user_id,
              project_id: row.project_id,
              started_at: now,
              ended_at: now,
            });
          });
        } else if (row.state === 'running') {
          await instancesRepository.extendUsage(this.db, row.id, now, false);
        }
        return;
      case 'stopped':
        if (row.state === 'stopping') {
          this.finishStop(row.id);
          return;
        }
        await this.move(row.id, row.state, 'stopped', {
          stopped_at: now,
          failure_reason: state.detail === undefined ? null : state.detail,
        });
        await this.sockets.close(row.id);
        return;
      case 'failed':
        await this.move(row.id, row.state, 'fail', {
          stopped_at: now,
          failure_reason: state.reason,
        });
        await this.sockets.close(row.id);
        return;
      default:
        state satisfies never;
    }
  }

  /** Serves the instance's platform socket (again), if its sandbox binds it: its handle says. */
  private async serveSocket(row: InstanceRow): Promise<void> {
    if (row.handle !== null && this.backend.bindsPlatformSocket(parseHandle(row.handle))) {
      await this.sockets.open(row.id);
    }
  }

  /**
   * Moves an instance by `event` if it is still in `from` (through nextState), closing its
   * usage when it leaves `running`; audited as the system's. Whether it moved.
   */
  private async move(
    instanceId: string,
    from: InstanceState,
    event: InstanceEvent,
    changes: Partial<Pick<InstanceRow, 'failure_reason' | 'stopped_at' | 'started_at'>> &
      Partial<Pick<InstanceRow, 'jupyter_token_sealed' | 'platform_token_hash'>>,
  ): Promise<boolean> {
    return this.inTransaction(async (trx) => {
      const row = await this.lockedRow(trx, instanceId);
      if (row.state !== from) {
        return false;
      }
      await this.moveLocked(trx, row, event, changes);
      return true;
    });
  }

  /** Moves a locked row by `event`; nextState refuses an impossible move (409). */
  private async moveLocked(
    trx: Transaction<Database>,
    row: InstanceRow,
    event: InstanceEvent,
    changes: Parameters<typeof instancesRepository.update>[2],
    options: { by?: string; action?: string } = {},
  ): Promise<InstanceState> {
    let to: InstanceState;
    try {
      to = nextState(row.state, event);
    } catch (error) {
      throw new AppError('conflict', messageOf(error));
    }
    const now = this.now();
    await instancesRepository.update(trx, row.id, {
      ...changes,
      state: to,
      ...(to === 'stopped' || to === 'failed' ? { stopped_at: changes.stopped_at ?? now } : {}),
    });
    if (row.state === 'running' && to !== 'running') {
      await instancesRepository.extendUsage(trx, row.id, now, true);
    }
    await this.audit.record(trx, {
      action: options.action ?? `instance.${event}`,
      target: `instance:${row.id}`,
      projectId: row.project_id,
      details: {
        from: row.state,
        to,
        ...(options.by === undefined ? {} : { by: options.by }),
        ...(typeof changes.failure_reason === 'string' ? { reason: changes.failure_reason } : {}),
      },
    });
    return to;
  }

  // Checks.

  private async requireMember(
    executor: Kysely<Database> | Transaction<Database>,
    projectId: string,
    userId: string,
    instanceId?: string,
  ): Promise<{ project: ProjectRow; member: MemberRow }> {
    const project = await projectsRepository.project(executor, projectId);
    const member =
      project === undefined
        ? undefined
        : await projectsRepository.member(executor, projectId, userId);
    if (project === undefined || member === undefined || member.user_status !== 'admitted') {
      throw instanceId === undefined
        ? new AppError('not_found', `there is no project ${projectId}`)
        : notFound(instanceId);
    }
    return { project, member };
  }

  /** A member who may launch instances in an open project (its row locked). */
  private async requireLauncher(
    trx: Transaction<Database>,
    projectId: string,
    userId: string,
    instanceId?: string,
  ): Promise<{ project: ProjectRow; member: MemberRow }> {
    const locked = await projectsRepository.projectForUpdate(trx, projectId);
    const found = await this.requireMember(trx, projectId, userId, instanceId);
    refuseFor(found.member, 'project.launch_instance');
    if (locked === undefined || !isProjectOpen(locked.status)) {
      throw new AppError('conflict', 'this project is archived; it launches no instances');
    }
    return { project: locked, member: found.member };
  }

  /** Free types: one live per user. Paid types: only where an admin enabled them. */
  private async refuseOverQuota(
    trx: Transaction<Database>,
    project: ProjectRow,
    userId: string,
    type: InstanceType,
  ): Promise<void> {
    if (!isFreeType(type)) {
      if (!project.paid_instances) {
        throw new AppError(
          'forbidden',
          `${type.name} is a paid type; until billing lands an admin enables paid types for each project, and this one has none`,
        );
      }
      return;
    }
    const live = await instancesRepository.liveFreeOf(trx, userId);
    if (live !== undefined) {
      throw freeQuotaRefusal(live.id, live.state);
    }
  }

  /** Every version to mount is attached to the project (and not retired). */
  private async refuseUnheldDatasets(
    trx: Transaction<Database>,
    projectId: string,
    datasets: readonly { slug: string; version: string }[],
  ): Promise<void> {
    const held = await projectsRepository.projectDatasets(trx, projectId);
    for (const [i, { slug, version }] of datasets.entries()) {
      const access = held.find((d) => d.slug === slug && d.number === version);
      if (access?.status !== 'attached' || access.version_status !== 'published') {
        const why =
          access === undefined
            ? `this project has no access to ${slug} ${version}; add it to the project first`
            : access.version_status !== 'published'
              ? `${slug} ${version} is retired; mount a published version`
              : `this project's access to ${slug} ${version} is ${access.status}, not attached`;
        throw new AppError('conflict', why, {
          errors: [{ path: `body.datasets.${i}`, message: why }],
        });
      }
    }
  }

  /** Admission control: too many instances starting answers 429 with a jittered Retry-After. */
  private async refuseTooManyStarts(trx: Transaction<Database>): Promise<void> {
    const starting = await instancesRepository.countStarting(trx);
    if (starting >= this.options.maxConcurrentStarts) {
      // Jittered, so refused launches do not all come back at the same second.
      const retryAfterSeconds = 5 + randomInt(0, 11);
      throw new AppError(
        'too_many_starts',
        `${starting === 1 ? 'one instance is' : `${starting} instances are`} starting now, the most this server starts at once; try again in ${retryAfterSeconds} seconds`,
        { retryAfterSeconds },
      );
    }
  }

  private typeOf(name: string): InstanceType {
    const type = this.types.get(name);
    if (type === undefined) {
      throw new AppError('validation_failed', `there is no instance type ${name}`, {
        errors: [{ path: 'body.type', message: `not one of ${[...this.types.keys()].join(', ')}` }],
      });
    }
    return type;
  }

  // Helpers.

  /** The views of the mounted versions, made once per version. */
  private async mountsOf(row: InstanceRow): Promise<DatasetMount[]> {
    const mounts: DatasetMount[] = [];
    for (const { slug, version } of mountedOf(row)) {
      const files = await this.catalog.publishedFiles(slug, version);
      mounts.push({ slug, version, hostPath: await this.views.materialise(files) });
    }
    return mounts;
  }

  /** `<data dir>/<area>/<id>`, its area traversable (not listable) by the sandbox user. */
  private async folder(area: string, id: string, areaMode: number): Promise<string> {
    const root = join(this.options.dataDir, area);
    await mkdir(root, { recursive: true });
    await chmod(root, areaMode);
    return join(root, id);
  }

  /**
   * Runs `fn` as the instance (its audit events name it), under the id of the platform call that
   * asked for it, so that the call's record and the change's share it (and are refused alike).
   */
  private asInstance<T>(row: InstanceRow, fn: () => Promise<T>): Promise<T> {
    const call = currentRequestContext();
    return runWithRequestContext(
      instanceRequestContext(row.id, {
        requestId: call?.requestId ?? `platform-${randomBytes(8).toString('hex')}`,
        clientIp: call?.clientIp ?? null,
        projectId: row.project_id,
      }),
      fn,
    );
  }

  /** A call from inside the instance (ngsci) is activity (for the idle culler). */
  private async touch(instanceId: string): Promise<void> {
    await instancesRepository.recordActivity(this.db, instanceId, this.now());
  }

  private track(instanceId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.inFlight.get(instanceId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(work)
      .finally(() => {
        if (this.inFlight.get(instanceId) === next) {
          this.inFlight.delete(instanceId);
        }
      });
    this.inFlight.set(instanceId, next);
    return next;
  }

  private async row(instanceId: string): Promise<InstanceRow> {
    const row = await instancesRepository.byId(this.db, instanceId);
    if (row === undefined) {
      throw notFound(instanceId);
    }
    return row;
  }

  private async lockedRow(trx: Transaction<Database>, instanceId: string): Promise<InstanceRow> {
    const row = await instancesRepository.byIdForUpdate(trx, instanceId);
    if (row === undefined) {
      throw notFound(instanceId);
    }
    return row;
  }

  /** A transaction in which losing a race for the free quota (its unique index) is a 429. */
  private async inTransaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction().execute(fn);
    } catch (error) {
      if (isFreeQuotaViolation(error)) {
        throw freeQuotaRefusal(null, null);
      }
      throw error;
    }
  }
}

function refuseFor(member: MemberRow, action: 'project.launch_instance'): void {
  const refusal = refuseAction(member.role, action);
  if (refusal !== null) {
    throw new AppError('forbidden', refusal);
  }
}

/** Why a live instance may run no more (its project archived, its person suspended), or null. */
function endedAccess(row: LiveInstanceRow): string | null {
  if (!isProjectOpen(row.project_status)) {
    return 'stopped because the project was archived';
  }
  if (row.user_status !== 'admitted') {
    return `stopped because the account that launched it is ${row.user_status}`;
  }
  return null;
}

function freeQuotaRefusal(id: string | null, state: string | null): AppError {
  return new AppError(
    'free_instance_quota',
    `you have a free instance already${id === null ? '' : ` (${id}, ${state ?? ''})`}; free instances are one per person: stop it before you launch another`,
    { retryAfterSeconds: 30 + randomInt(0, 31) },
  );
}

function notFound(instanceId: string): AppError {
  return new AppError('not_found', `there is no instance ${instanceId}`);
}

function baseUrlOf(instanceId: string): string {
  return `/instances/${instanceId}/`;
}

const mountsSchema = z.array(z.object({ slug: z.string(), version: z.string() }));
const handleSchema = z.object({
  kind: z.enum(['local', 'slurm', 'kubernetes']),
  ref: z.string(),
  details: z.record(z.string(), z.unknown()),
});

function mountedOf(row: InstanceRow): { slug: string; version: string }[] {
  return mountsSchema.parse(JSON.parse(row.datasets));
}

/** The handle the backend returned, as persisted (its details are the backend's to check). */
function parseHandle(text: string): BackendHandle {
  return handleSchema.parse(JSON.parse(text));
}

function isFreeQuotaViolation(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    error.code === UNIQUE_VIOLATION &&
    'constraint' in error &&
    error.constraint === FREE_QUOTA_INDEX
  );
}

/** `2030-03-01 14:05 UTC`: when an idle instance stops, for an email. */
function clockTime(instant: Date): string {
  const iso = instant.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function present(row: InstanceRow, policy: IdlePolicy): Instance {
  return {
    id: row.id,
    projectId: row.project_id,
    userId: row.user_id,
    type: row.type_name,
    state: row.state,
    failureReason: row.failure_reason,
    datasets: mountedOf(row),
    url: baseUrlOf(row.id),
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    stoppedAt: row.stopped_at?.toISOString() ?? null,
    lastActivityAt: row.last_activity_at?.toISOString() ?? null,
    idleStopAt:
      row.state === 'running' && row.last_activity_at !== null
        ? (idleStopAt(row.last_activity_at, row.idle_warned_at, policy)?.toISOString() ?? null)
        : null,
  };
}

function presentUsage(row: UsageRow): InstanceUsage {
  return {
    instanceId: row.instance_id,
    type: row.type_name,
    userId: row.user_id,
    projectId: row.project_id,
    priceCentsPerHour: row.price_cents_per_hour,
    startedAt: row.started_at.toISOString(),
    endedAt: row.ended_at.toISOString(),
    seconds: Math.floor((row.ended_at.getTime() - row.started_at.getTime()) / 1000),
    closed: row.closed,
  };
}
