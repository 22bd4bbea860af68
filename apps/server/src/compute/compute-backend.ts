/**
 * Where notebook instances run (issue 8): one small interface that the local (bubblewrap), Slurm
 * and Kubernetes backends implement, so that the instance service, the proxy and the culler never
 * know which one they talk to.
 *
 * The service owns the instance's record and its state machine (@lantern/core/instances); a backend
 * only launches, looks, stops and finds again. Everything a backend needs to find an instance after
 * a server restart is in the `BackendHandle` it returned, which the service persists as is.
 */
import type { InstanceType } from '@lantern/core/instances';
import type { ComponentCheck } from '../storage/object-store.js';

export type ComputeBackendKind = 'local' | 'slurm' | 'kubernetes';

/** A dataset version mounted read-only at `/home/ngsci/datasets/<slug>/<version>/`. */
export interface DatasetMount {
  slug: string;
  version: string;
  /**
   * A host folder holding the version's files under their published paths (a materialised,
   * read-only view of the object store), for backends that bind host folders (local, Slurm).
   */
  hostPath: string;
}

/** What to launch: one notebook server, sandboxed, for one user of one project. */
export interface LaunchSpec {
  /** The instance's id (`NG_INSTANCE_ID` inside). */
  instanceId: string;
  /** Resources: vCPUs, memory, GPUs, disk. */
  type: InstanceType;
  /** The path the proxy serves the notebook under, `/instances/<id>/` (Jupyter's base_url). */
  baseUrl: string;
  /** Jupyter's token: held by the server and the proxy, never given to the browser. */
  token: string;
  datasets: readonly DatasetMount[];
  /** Host folder shared read-write by the project's members, at `/home/ngsci/project`. */
  projectPath: string;
  /** Host folder private to the user, at `/home/ngsci` (the sandbox's home). */
  homePath: string;
  /**
   * Host path of the UNIX socket on which the server answers the `ngsci` module, bound into the
   * sandbox (the only way out of it), served only for backends that bind it
   * (`bindsPlatformSocket`); the per-instance token below authenticates the calls.
   */
  platformSocket: string;
  platformToken: string;
  /** Extra environment inside the sandbox (`NG_INSTANCE_ID` is always set). */
  env?: Readonly<Record<string, string>>;
}

/**
 * A Slurm job's relay on its compute node (python/slurm-relay.py): TLS on `host:port` with the
 * certificate whose SHA-256 fingerprint is pinned, then `secret` as the connection's first line.
 */
export interface RelayEndpoint {
  host: string;
  port: number;
  /** As Node prints it: `AB:CD:…`. */
  fingerprint256: string;
  /** The instance's relay secret (read from its folder, never persisted in the handle). */
  secret: string;
}

/**
 * How to reach a running notebook server: a UNIX socket on this host, an HTTP base URL, or a
 * relay. Opened by notebook-connector.ts, the one place that knows the difference.
 */
export type NotebookEndpoint = { socketPath: string } | { url: string } | { relay: RelayEndpoint };

/**
 * What a backend returned from `start`: everything needed to find the instance again, persisted
 * by the service as JSON (a process id and its folder, a Slurm job id, a Pod's name).
 */
export interface BackendHandle {
  kind: ComputeBackendKind;
  /** The backend's own id for it: a pid, a job id, a Pod name. */
  ref: string;
  /** Backend-specific, JSON-serialisable. */
  details: Readonly<Record<string, unknown>>;
}

/** What a backend sees of an instance. */
export type BackendState =
  | { state: 'starting'; detail?: string }
  | { state: 'running'; endpoint: NotebookEndpoint }
  | { state: 'stopped'; detail?: string }
  | { state: 'failed'; reason: string };

export interface ComputeBackend {
  readonly kind: ComputeBackendKind;
  /**
   * How often (ms) the service may poll a start under way while it watches for the notebook to
   * answer: cheap polls (a local socket) can be frequent, a scheduler's or an API server's not.
   * One second when unset; once a start has been watched for minutes, the reconciler's interval.
   */
  readonly startPollMs?: number;
  /** Whether this backend can run instances here (for the status page). */
  check(): Promise<ComponentCheck>;
  /**
   * Whether the sandbox binds the server's platform socket (`LaunchSpec.platformSocket`): that of
   * `handle`, or without one, of a start now. The service serves the socket only then; where ngsci
   * reaches the platform another way (a Slurm job's relay, a Pod over HTTP) no socket is made.
   * A handle's answer is its own, not the configuration's: a job keeps the way it was launched.
   */
  bindsPlatformSocket(handle?: BackendHandle): boolean;
  /**
   * Launches the instance and returns once the backend has taken it (a process spawned, a job
   * submitted, a Pod created), without waiting for the notebook to answer: `poll` says when.
   */
  start(spec: LaunchSpec): Promise<BackendHandle>;
  /**
   * What the backend runs for `instanceId`, found by the id alone (a sandbox, a job, a Pod), or
   * null when nothing of it runs: for a start whose handle was never stored (its server died, or
   * the write failed), so that what it left can be stopped. `start` itself stops what an earlier
   * start of the same instance left, so one instance never runs twice.
   */
  find(instanceId: string): Promise<BackendHandle | null>;
  /** Where the instance stands now; `running` only once the notebook answers. */
  poll(handle: BackendHandle): Promise<BackendState>;
  /** Stops the instance and everything it started; stopping one already gone is not an error. */
  stop(handle: BackendHandle): Promise<void>;
  /**
   * After a server restart: takes back the instances the service believes live, and answers what
   * each is now (running ones re-attached, vanished ones `stopped` or `failed` with why).
   */
  restore(handles: readonly BackendHandle[]): Promise<BackendState[]>;
}

/** What the status page needs of the configured backend. */
export type ComputeStatus = Pick<ComputeBackend, 'kind' | 'check'>;
