import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_DISCLOSURE_THRESHOLDS,
  DEFAULT_RELEASE_LIMITS,
  type DisclosureThresholds,
  type ReleaseLimits,
} from '@lantern/core/releases';
import { z } from 'zod';
import { DEFAULT_RESPONSE_LIMIT_BYTES } from './compute/proxy/egress-guard.js';

/**
 * The configuration of a Lantern server, parsed once at boot from `LANTERN_*` environment variables
 * and command-line flags (flags win). This is the only module that reads `process.env`.
 */
export interface Config {
  /** Where PGlite, local objects and the process lock live. Absolute. */
  readonly dataDir: string;
  readonly host: string;
  /** 0 asks the kernel for a free port. */
  readonly port: number;
  /** PostgreSQL connection string; PGlite in the data directory when absent. */
  readonly databaseUrl: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest request body accepted, in bytes; larger bodies get 413. */
  readonly bodyLimitBytes: number;
  /** Trust X-Forwarded-For from this many proxy hops (0: use the socket's address). */
  readonly trustProxyHops: number;
  /** The built web app; served at `/`. */
  readonly webDir: string;
  /** Where objects live: files in the data directory, or an S3 bucket (then `s3` is set). */
  readonly objectStore: 'local' | 's3';
  /** The S3 bucket and how to reach it; undefined unless `objectStore` is `s3`. */
  readonly s3: S3Config | undefined;
  /** Where notebook instances run: sandboxed local processes, Slurm jobs, or Kubernetes Pods. */
  readonly computeBackend: 'local' | 'slurm' | 'kubernetes';
  /** The Slurm cluster; undefined unless `computeBackend` is `slurm`. */
  readonly slurm: SlurmConfig | undefined;
  /** The Kubernetes cluster; undefined unless `computeBackend` is `kubernetes`. */
  readonly kubernetes: KubernetesConfig | undefined;
  /**
   * An admin-edited JSON file holding the instance type catalogue (an array of types, checked by
   * parseInstanceCatalogue at start); the built-in catalogue when unset.
   */
  readonly instanceTypesFile: string | undefined;
  /** How often live instances are polled and their usage written. */
  readonly instancePollMs: number;
  /** How many instances may be starting at once; more launches answer 429 with Retry-After. */
  readonly maxConcurrentStarts: number;
  /**
   * Idle culling: a running instance idle this long (no traffic through the proxy, no activity in
   * Jupyter, no kernel busy) is stopped, after a warning `instanceIdleWarningMs` before; 0: never.
   */
  readonly instanceIdleMs: number;
  readonly instanceIdleWarningMs: number;
  /** The instance proxy's egress guard stops any response larger than this. */
  readonly proxyMaxResponseBytes: number;
  /**
   * How long a launch or restart waits for its instance to run (or fail) before it answers 202
   * Accepted, the start going on in the background; 0 answers at once.
   */
  readonly instanceStartWaitMs: number;
  /** How often queued audit events are sealed into the hash chain. */
  readonly auditSealIntervalMs: number;
  /** What one release request may carry: files, bytes a file, bytes in all (the airlock). */
  readonly releaseLimits: ReleaseLimits;
  /** The disclosure checks' thresholds: rows of row-level data, the smallest safe count. */
  readonly disclosureThresholds: DisclosureThresholds;
  /** Objects no row refers to are deleted once this old (the unreferenced-object sweep). */
  readonly objectSweepGraceMs: number;
  /** How often the unreferenced-object sweep runs (and once at start). */
  readonly objectSweepIntervalMs: number;
  /** How long a graceful shutdown may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  /** The address of the admin created on the first start of an empty data directory. */
  readonly adminEmail: string;
  /** How long a sign-in lasts. */
  readonly sessionTtlMs: number;
  /** Where people reach this server (for links printed and sent); from host and port when unset. */
  readonly publicUrl: string | undefined;
  /** SMTP server for outgoing mail (smtp:// or smtps://, credentials in the URL); outbox only when unset. */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /**
   * The file holding the deployment key (base64, 32 bytes or more), which seals second-factor
   * secrets and keys pseudonyms. Made on first start when absent. Servers sharing one PostgreSQL
   * database must share this file.
   */
  readonly secretKeyFile: string;
  /** Generate, ingest and publish the demo catalogue on the first start of an empty catalog. */
  readonly demo: boolean;
  /** The demo's size (1: small, well under 200 MB). */
  readonly demoScale: number;
  /**
   * Worker processes an ingest de-identifies its native files in, several files at once (0 means
   * 1), with every object store: the main thread only stores what they write.
   */
  readonly ingestWorkers: number;
}

/** An S3-compatible object store (AWS S3, Ceph RGW …). */
export interface S3Config {
  /** The server's URL; AWS S3 when absent. Buckets are addressed path-style when it is set. */
  readonly endpoint: string | undefined;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string | undefined;
  /** The secret key itself, or the file holding it (read at start); never both, never logged. */
  readonly secretAccessKey: string | undefined;
  readonly secretAccessKeyFile: string | undefined;
}

/** A Slurm cluster that runs instances as batch jobs. */
export interface SlurmConfig {
  /** The cluster's slurm.conf (SLURM_CONF of every Slurm command). Absolute. */
  readonly slurmConf: string;
  /** A folder the server and the compute nodes share, one sub-folder per instance. Absolute. */
  readonly instancesDir: string;
  readonly partition: string | undefined;
  readonly account: string | undefined;
  /**
   * A relay in each job (LANTERN_SLURM_RELAY=on), for jobs on other nodes than the server's:
   * where it listens on the compute node, and the server's URL as the compute nodes reach it.
   * Undefined: jobs must run on the server's node (their sockets are its).
   */
  readonly relay: { readonly bind: string; readonly platformUrl: string } | undefined;
}

/** A Kubernetes cluster that runs instances as Pods. */
export interface KubernetesConfig {
  readonly namespace: string;
  /** The JupyterLab image. */
  readonly image: string;
  /** A kubeconfig file (absolute), or undefined for the Pod's in-cluster service account. */
  readonly kubeconfig: string | undefined;
  /** The volume claims holding the dataset views (read-only), project folders and homes. */
  readonly datasetsClaim: string;
  readonly projectsClaim: string;
  readonly homesClaim: string;
  /** Where ngsci reaches the server from a Pod (the Service's ClusterIP); undefined: it cannot. */
  readonly platformUrl: string | undefined;
}

/** Flags given on the command line; each overrides its environment variable. */
export interface ConfigFlags {
  dataDir?: string | undefined;
  host?: string | undefined;
  port?: string | number | undefined;
  /** `--no-demo`: false. */
  demo?: boolean | undefined;
}

/** Thrown when the configuration is invalid; `message` lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const defaultWebDir = fileURLToPath(new URL('../../web/dist', import.meta.url));

const integer = (min: number, max: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min).max(max);

/** A Kubernetes namespace: a DNS label (RFC 1123). */
const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lower-case letters, digits and hyphens');
/** An http(s) URL naming its host by IP address (IPv4, or IPv6 in brackets), nothing after the path. */
/** An http(s) URL with no credentials, query or fragment: a server's origin and base path. */
function isServerUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.hostname !== '' &&
      url.username === '' &&
      url.password === '' &&
      url.search === '' &&
      url.hash === ''
    );
  } catch {
    return false;
  }
}

function isPlatformUrl(value: string): boolean {
  try {
    const url = new URL(value);
    const host = url.hostname.replace(/^\[(.*)\]$/u, '$1');
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      isIP(host) !== 0 &&
      url.username === '' &&
      url.search === '' &&
      url.hash === ''
    );
  } catch {
    return false;
  }
}

/** A Kubernetes object name such as a volume claim's: a DNS subdomain (RFC 1123). */
const dnsSubdomain = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a Kubernetes object name (lower-case letters, digits, hyphens and dots)',
  );
/** A Slurm partition or account: given to sbatch as one argument. */
const slurmName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a Slurm name (letters, digits, _ . -)');

const schema = z.object({
  LANTERN_DATA_DIR: z.string().min(1).default('./.lantern'),
  LANTERN_HOST: z.string().min(1).default('127.0.0.1'),
  LANTERN_PORT: integer(0, 65535).default(8080),
  LANTERN_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  LANTERN_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  LANTERN_BODY_LIMIT_BYTES: integer(1024, 1024 ** 3).default(1024 * 1024),
  LANTERN_TRUST_PROXY_HOPS: integer(0, 16).default(0),
  LANTERN_WEB_DIR: z.string().min(1).default(defaultWebDir),
  LANTERN_OBJECT_STORE: z.enum(['local', 's3']).default('local'),
  LANTERN_S3_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  LANTERN_S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)',
    )
    .optional(),
  LANTERN_S3_REGION: z.string().min(1).default('us-east-1'),
  LANTERN_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  LANTERN_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  LANTERN_S3_SECRET_ACCESS_KEY_FILE: z.string().min(1).optional(),
  LANTERN_COMPUTE_BACKEND: z
    .enum(['local', 'slurm', 'kubernetes'], { error: 'must be local, slurm or kubernetes' })
    .default('local'),
  LANTERN_SLURM_CONF: z.string().min(1).default('/etc/slurm/slurm.conf'),
  LANTERN_SLURM_INSTANCES_DIR: z.string().min(1).optional(),
  LANTERN_SLURM_PARTITION: slurmName.optional(),
  LANTERN_SLURM_ACCOUNT: slurmName.optional(),
  LANTERN_SLURM_RELAY: z.enum(['on', 'off'], { error: 'must be on or off' }).default('off'),
  LANTERN_SLURM_PLATFORM_URL: z
    .string()
    .refine(isServerUrl, 'must be an http(s) URL without credentials, query or fragment')
    .optional(),
  LANTERN_SLURM_RELAY_BIND: z
    .string()
    .refine((value) => isIP(value) !== 0, 'must be an IP address')
    .default('0.0.0.0'),
  LANTERN_K8S_NAMESPACE: dnsLabel.default('lantern-instances'),
  LANTERN_K8S_IMAGE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'must be a container image reference')
    .optional(),
  LANTERN_K8S_KUBECONFIG: z.string().min(1).optional(),
  LANTERN_K8S_DATASETS_PVC: dnsSubdomain.optional(),
  LANTERN_K8S_PROJECTS_PVC: dnsSubdomain.optional(),
  LANTERN_K8S_HOMES_PVC: dnsSubdomain.optional(),
  LANTERN_K8S_PLATFORM_URL: z
    .string()
    .refine(
      isPlatformUrl,
      "must be an http(s) URL whose host is an IP address (the server Service's ClusterIP: instances get no DNS)",
    )
    .optional(),
  LANTERN_INSTANCE_TYPES: z.string().min(1).optional(),
  LANTERN_INSTANCE_POLL_MS: integer(50, 600_000).default(2000),
  LANTERN_MAX_CONCURRENT_STARTS: integer(1, 1000).default(8),
  LANTERN_INSTANCE_IDLE_MINUTES: integer(0, 30 * 24 * 60).default(60),
  LANTERN_INSTANCE_IDLE_WARNING_MINUTES: integer(0, 30 * 24 * 60).default(10),
  LANTERN_PROXY_MAX_RESPONSE_BYTES: integer(64 * 1024, 1024 ** 4).default(
    DEFAULT_RESPONSE_LIMIT_BYTES,
  ),
  LANTERN_INSTANCE_START_WAIT_MS: integer(0, 60_000).default(2000),
  LANTERN_AUDIT_SEAL_INTERVAL_MS: integer(10, 60_000).default(200),
  LANTERN_RELEASE_MAX_FILES: integer(1, 1000).default(DEFAULT_RELEASE_LIMITS.maxFiles),
  LANTERN_RELEASE_MAX_FILE_BYTES: integer(1, 1024 ** 3).default(
    DEFAULT_RELEASE_LIMITS.maxFileBytes,
  ),
  LANTERN_RELEASE_MAX_BYTES: integer(1, 1024 ** 3).default(DEFAULT_RELEASE_LIMITS.maxRequestBytes),
  LANTERN_RELEASE_MAX_ROWS: integer(0, 1_000_000_000).default(
    DEFAULT_DISCLOSURE_THRESHOLDS.maxRows,
  ),
  LANTERN_RELEASE_MIN_COUNT: integer(1, 1_000_000).default(DEFAULT_DISCLOSURE_THRESHOLDS.minCount),
  LANTERN_SWEEP_GRACE_MINUTES: integer(0, 7 * 24 * 60).default(60),
  LANTERN_SWEEP_INTERVAL_MINUTES: integer(1, 7 * 24 * 60).default(60),
  LANTERN_SHUTDOWN_TIMEOUT_MS: integer(100, 600_000).default(10_000),
  LANTERN_ADMIN_EMAIL: z.email('must be an email address').default('admin@lantern.local'),
  LANTERN_SESSION_TTL_HOURS: integer(1, 24 * 30).default(12),
  LANTERN_SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  LANTERN_MAIL_FROM: z.string().min(3).default('Lantern <no-reply@lantern.local>'),
  LANTERN_SECRET_KEY_FILE: z.string().min(1).optional(),
  LANTERN_DEMO: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  LANTERN_DEMO_SCALE: z.coerce
    .number({ error: 'must be a number' })
    .gt(0, 'must be above 0')
    .max(1000)
    .default(1),
  LANTERN_INGEST_WORKERS: integer(0, 64).optional(),
  LANTERN_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
});

/** The variables Lantern reads, with their defaults; printed by `--help` and the README. */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

/** Parses an environment and flags into a frozen Config, or throws a ConfigError naming each problem. */
export function parseConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: ConfigFlags = {},
): Config {
  const input: Record<string, unknown> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    // An empty variable means "not set", as most shells and .env files intend.
    if (value !== undefined && value !== '') {
      input[key] = value;
    }
  }
  if (flags.dataDir !== undefined) {
    input['LANTERN_DATA_DIR'] = flags.dataDir;
  }
  if (flags.demo === false) {
    input['LANTERN_DEMO'] = 'off';
  }
  if (flags.host !== undefined) {
    input['LANTERN_HOST'] = flags.host;
  }
  if (flags.port !== undefined) {
    input['LANTERN_PORT'] = flags.port;
  }
  const parsed = schema
    .superRefine(checkS3)
    .superRefine(checkCompute)
    .superRefine(checkIdleCulling)
    .safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  return Object.freeze({
    dataDir: resolve(e.LANTERN_DATA_DIR),
    host: e.LANTERN_HOST,
    port: e.LANTERN_PORT,
    databaseUrl: e.LANTERN_DATABASE_URL,
    logLevel: e.LANTERN_LOG_LEVEL,
    bodyLimitBytes: e.LANTERN_BODY_LIMIT_BYTES,
    trustProxyHops: e.LANTERN_TRUST_PROXY_HOPS,
    webDir: resolve(e.LANTERN_WEB_DIR),
    objectStore: e.LANTERN_OBJECT_STORE,
    s3:
      e.LANTERN_OBJECT_STORE === 's3' && e.LANTERN_S3_BUCKET !== undefined
        ? Object.freeze({
            endpoint: e.LANTERN_S3_ENDPOINT,
            bucket: e.LANTERN_S3_BUCKET,
            region: e.LANTERN_S3_REGION,
            accessKeyId: e.LANTERN_S3_ACCESS_KEY_ID,
            secretAccessKey: e.LANTERN_S3_SECRET_ACCESS_KEY,
            secretAccessKeyFile:
              e.LANTERN_S3_SECRET_ACCESS_KEY_FILE === undefined
                ? undefined
                : resolve(e.LANTERN_S3_SECRET_ACCESS_KEY_FILE),
          })
        : undefined,
    computeBackend: e.LANTERN_COMPUTE_BACKEND,
    slurm:
      e.LANTERN_COMPUTE_BACKEND === 'slurm' && e.LANTERN_SLURM_INSTANCES_DIR !== undefined
        ? Object.freeze({
            slurmConf: resolve(e.LANTERN_SLURM_CONF),
            instancesDir: resolve(e.LANTERN_SLURM_INSTANCES_DIR),
            partition: e.LANTERN_SLURM_PARTITION,
            account: e.LANTERN_SLURM_ACCOUNT,
            relay:
              e.LANTERN_SLURM_RELAY === 'on' && e.LANTERN_SLURM_PLATFORM_URL !== undefined
                ? Object.freeze({
                    bind: e.LANTERN_SLURM_RELAY_BIND,
                    platformUrl: e.LANTERN_SLURM_PLATFORM_URL,
                  })
                : undefined,
          })
        : undefined,
    kubernetes:
      e.LANTERN_COMPUTE_BACKEND === 'kubernetes' &&
      e.LANTERN_K8S_IMAGE !== undefined &&
      e.LANTERN_K8S_DATASETS_PVC !== undefined &&
      e.LANTERN_K8S_PROJECTS_PVC !== undefined &&
      e.LANTERN_K8S_HOMES_PVC !== undefined
        ? Object.freeze({
            namespace: e.LANTERN_K8S_NAMESPACE,
            image: e.LANTERN_K8S_IMAGE,
            kubeconfig:
              e.LANTERN_K8S_KUBECONFIG === undefined
                ? undefined
                : resolve(e.LANTERN_K8S_KUBECONFIG),
            datasetsClaim: e.LANTERN_K8S_DATASETS_PVC,
            projectsClaim: e.LANTERN_K8S_PROJECTS_PVC,
            homesClaim: e.LANTERN_K8S_HOMES_PVC,
            platformUrl: e.LANTERN_K8S_PLATFORM_URL,
          })
        : undefined,
    instanceTypesFile:
      e.LANTERN_INSTANCE_TYPES === undefined ? undefined : resolve(e.LANTERN_INSTANCE_TYPES),
    instancePollMs: e.LANTERN_INSTANCE_POLL_MS,
    maxConcurrentStarts: e.LANTERN_MAX_CONCURRENT_STARTS,
    instanceIdleMs: e.LANTERN_INSTANCE_IDLE_MINUTES * 60_000,
    instanceIdleWarningMs: e.LANTERN_INSTANCE_IDLE_WARNING_MINUTES * 60_000,
    proxyMaxResponseBytes: e.LANTERN_PROXY_MAX_RESPONSE_BYTES,
    instanceStartWaitMs: e.LANTERN_INSTANCE_START_WAIT_MS,
    auditSealIntervalMs: e.LANTERN_AUDIT_SEAL_INTERVAL_MS,
    releaseLimits: Object.freeze({
      maxFiles: e.LANTERN_RELEASE_MAX_FILES,
      maxFileBytes: e.LANTERN_RELEASE_MAX_FILE_BYTES,
      maxRequestBytes: e.LANTERN_RELEASE_MAX_BYTES,
    }),
    disclosureThresholds: Object.freeze({
      maxRows: e.LANTERN_RELEASE_MAX_ROWS,
      minCount: e.LANTERN_RELEASE_MIN_COUNT,
    }),
    objectSweepGraceMs: e.LANTERN_SWEEP_GRACE_MINUTES * 60_000,
    objectSweepIntervalMs: e.LANTERN_SWEEP_INTERVAL_MINUTES * 60_000,
    shutdownTimeoutMs: e.LANTERN_SHUTDOWN_TIMEOUT_MS,
    adminEmail: e.LANTERN_ADMIN_EMAIL,
    sessionTtlMs: e.LANTERN_SESSION_TTL_HOURS * 60 * 60 * 1000,
    publicUrl: e.LANTERN_PUBLIC_URL,
    smtpUrl: e.LANTERN_SMTP_URL,
    secretKeyFile: resolve(e.LANTERN_SECRET_KEY_FILE ?? join(e.LANTERN_DATA_DIR, 'secret.key')),
    demo: e.LANTERN_DEMO === 'on',
    demoScale: e.LANTERN_DEMO_SCALE,
    ingestWorkers: e.LANTERN_INGEST_WORKERS ?? defaultIngestWorkers(),
    mailFrom: e.LANTERN_MAIL_FROM,
  });
}

/**
 * The ingest's worker processes when not told: two, or one on a single core.
 * Two took a radiograph corpus at 1.2x to 1.7x the speed of one (bench/ingest/README.md, on two
 * cores shared with other work); more would take cores from what shares the process and the
 * machine while an ingest runs (requests, PGlite, the tables' CSVs hashed on the main thread,
 * notebook instances), and a second worker on a single core only adds the cost of switching
 * between processes.
 */
export function defaultIngestWorkers(): number {
  return Math.min(2, availableParallelism());
}

/**
 * The S3 variables hang together: a bucket when the store is S3, and static credentials whole
 * (a key id with one secret, from the variable or its file) or not at all (the SDK's default chain).
 */
function checkS3(e: z.infer<typeof schema>, ctx: z.RefinementCtx): void {
  if (e.LANTERN_OBJECT_STORE !== 's3') {
    return;
  }
  const problem = (variable: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: [variable], message });
  if (e.LANTERN_S3_BUCKET === undefined) {
    problem('LANTERN_S3_BUCKET', 'is required when LANTERN_OBJECT_STORE is s3');
  }
  const secrets = [e.LANTERN_S3_SECRET_ACCESS_KEY, e.LANTERN_S3_SECRET_ACCESS_KEY_FILE].filter(
    (v) => v !== undefined,
  ).length;
  if (secrets === 2) {
    problem(
      'LANTERN_S3_SECRET_ACCESS_KEY',
      'give the secret or LANTERN_S3_SECRET_ACCESS_KEY_FILE, not both',
    );
  }
  if (secrets > 0 && e.LANTERN_S3_ACCESS_KEY_ID === undefined) {
    problem('LANTERN_S3_ACCESS_KEY_ID', 'is required with a secret access key');
  }
  if (secrets === 0 && e.LANTERN_S3_ACCESS_KEY_ID !== undefined) {
    problem(
      'LANTERN_S3_SECRET_ACCESS_KEY',
      'is required with LANTERN_S3_ACCESS_KEY_ID (or LANTERN_S3_SECRET_ACCESS_KEY_FILE)',
    );
  }
}

/**
 * The chosen compute backend's variables are there: Slurm needs the shared instances folder,
 * Kubernetes the image and the three volume claims. Another backend's variables are ignored.
 */
function checkCompute(e: z.infer<typeof schema>, ctx: z.RefinementCtx): void {
  const required = (variables: Record<string, string | undefined>) => {
    for (const [variable, value] of Object.entries(variables)) {
      if (value === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [variable],
          message: `is required when LANTERN_COMPUTE_BACKEND is ${e.LANTERN_COMPUTE_BACKEND}`,
        });
      }
    }
  };
  if (e.LANTERN_COMPUTE_BACKEND === 'slurm') {
    required({ LANTERN_SLURM_INSTANCES_DIR: e.LANTERN_SLURM_INSTANCES_DIR });
    if (e.LANTERN_SLURM_RELAY === 'on' && e.LANTERN_SLURM_PLATFORM_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['LANTERN_SLURM_PLATFORM_URL'],
        message: 'is required when LANTERN_SLURM_RELAY is on (where ngsci reaches the server)',
      });
    }
  }
  if (e.LANTERN_COMPUTE_BACKEND === 'kubernetes') {
    required({
      LANTERN_K8S_IMAGE: e.LANTERN_K8S_IMAGE,
      LANTERN_K8S_DATASETS_PVC: e.LANTERN_K8S_DATASETS_PVC,
      LANTERN_K8S_PROJECTS_PVC: e.LANTERN_K8S_PROJECTS_PVC,
      LANTERN_K8S_HOMES_PVC: e.LANTERN_K8S_HOMES_PVC,
    });
  }
}

/** A warning comes before the stop: it must be shorter than the idle time it warns of. */
function checkIdleCulling(e: z.infer<typeof schema>, ctx: z.RefinementCtx): void {
  if (
    e.LANTERN_INSTANCE_IDLE_MINUTES > 0 &&
    e.LANTERN_INSTANCE_IDLE_WARNING_MINUTES >= e.LANTERN_INSTANCE_IDLE_MINUTES
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['LANTERN_INSTANCE_IDLE_WARNING_MINUTES'],
      message: `must be less than LANTERN_INSTANCE_IDLE_MINUTES (${e.LANTERN_INSTANCE_IDLE_MINUTES})`,
    });
  }
}

/** Reads the process environment (the one place that does) and the given flags. */
export function loadConfig(flags: ConfigFlags = {}): Config {
  return parseConfig(process.env, flags);
}
