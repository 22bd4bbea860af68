import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger as Logger } from 'fastify';
import {
  DEFAULT_INSTANCE_TYPES,
  parseInstanceCatalogue,
  type InstanceType,
} from '@lantern/core/instances';
import type { ComputeBackend } from './compute/compute-backend.js';
import { createComputeBackend } from './compute/configured-backend.js';
import { DatasetViews } from './compute/dataset-view.js';
import { ConfigError, type Config } from './config.js';
import type { InstanceResolver } from './compute/proxy/instance-proxy.js';
import { DeploymentKey } from './crypto/deployment-key.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { AuditSealer } from './jobs/audit-sealer.js';
import { PeriodicWorker } from './jobs/periodic-worker.js';
import { EmailService } from './services/email/email.service.js';
import { AuditService } from './services/audit/audit.service.js';
import { HealthService } from './services/health/health.service.js';
import { InstanceService } from './services/instances/instance.service.js';
import { SpendService } from './services/instances/spend.service.js';
import { ApiTokensService } from './services/identity/api-tokens.service.js';
import { IdentityService } from './services/identity/identity.service.js';
import { PasswordResetService } from './services/identity/password-reset.service.js';
import { AdmissionService } from './services/admission/admission.service.js';
import { CatalogService } from './services/catalog/catalog.service.js';
import { INGEST_STALE_MS, IngestService } from './services/ingest/ingest.service.js';
import { IngestUploadService } from './services/ingest/ingest-uploads.service.js';
import { INGEST_SCRATCH_DIR, IngestPool } from './services/ingest/ingest-pool.js';
import { HeldFilesService } from './services/ingest/held-files.service.js';
import { ObjectSweepService } from './services/objects/object-sweep.service.js';
import { AccessRequestService } from './services/projects/access-requests.service.js';
import { ProjectService } from './services/projects/project.service.js';
import { ReportsService } from './services/catalog/reports.service.js';
import { ReleaseService } from './services/releases/release.service.js';
import { RegistrationService } from './services/identity/registration.service.js';
import { SecondFactorService } from './services/identity/second-factor.service.js';
import { UserAdminService } from './services/identity/user-admin.service.js';
import { TermsService } from './services/terms/terms.service.js';
import { LocalObjectStore, ObjectStoreError, type ObjectStore } from './storage/object-store.js';
import { describeS3Error, S3ObjectStore } from './storage/s3-object-store.js';

/** Everything a running server holds: configuration, connections, services and workers. */
export interface AppContext {
  config: Config;
  logger: Logger;
  version: string;
  database: DatabaseHandle;
  objectStore: ObjectStore;
  /**
   * Ingest's quarantine: held files' de-identified bytes waiting for a curator's review, a store
   * apart from the published objects (no version's manifest ever refers to it).
   */
  quarantineStore: ObjectStore;
  /** Where instances run, as LANTERN_COMPUTE_BACKEND chose (local, Slurm or Kubernetes). */
  compute: ComputeBackend;
  /**
   * The instance proxy's view of instances (`/instances/<id>/…`): who may reach which running
   * notebook (the instance service's resolver), where traffic to one is reported (the idle
   * culler's activity), and the egress guard's response size limit
   * (LANTERN_PROXY_MAX_RESPONSE_BYTES).
   */
  instanceProxy: {
    resolve: InstanceResolver;
    recordActivity: (instanceId: string) => Promise<void>;
    responseLimitBytes: number;
  };
  services: {
    audit: AuditService;
    health: HealthService;
    identity: IdentityService;
    secondFactor: SecondFactorService;
    tokens: ApiTokensService;
    terms: TermsService;
    userAdmin: UserAdminService;
    catalog: CatalogService;
    ingest: IngestService;
    /** Files an ingest held back (burned-in text, unreadable), reviewed and released or excluded. */
    heldFiles: HeldFilesService;
    /** Remote ingest: deliveries uploaded (resumably) to a staging folder, ingested, then deleted. */
    ingestUploads: IngestUploadService;
    reports: ReportsService;
    email: EmailService;
    registration: RegistrationService;
    passwordReset: PasswordResetService;
    admission: AdmissionService;
    objectSweep: ObjectSweepService;
    /** Projects: members, invitations, dataset access per version (issue 7). */
    projects: ProjectService;
    /** Reviewers' answers to requests for approval-tier datasets. */
    accessRequests: AccessRequestService;
    /** The same sweep over the quarantine: held files decided, or of drafts gone, leave it. */
    quarantineSweep: ObjectSweepService;
    /** Notebook instances launched from projects, their platform sockets and usage (issue 8). */
    instances: InstanceService;
    /** What a project's instances cost, from their usage records (issues 7 and 8). */
    spend: SpendService;
    /** The airlock: release requests from instances, their review, and approved downloads. */
    releases: ReleaseService;
  };
  /**
   * Where people reach this server, for links in email: LANTERN_PUBLIC_URL, or the address the
   * server listens on once it does (set by whoever calls listen). Never the request's Host header,
   * which a client chooses.
   */
  links: { base: string };
  sealer: AuditSealer;
  /** Delivers queued email when SMTP is configured. */
  mailer: PeriodicWorker;
  /**
   * Marks interrupted the ingests whose process died and sweeps unreferenced objects; started by
   * `lantern start` to run at once and then every LANTERN_SWEEP_INTERVAL_MINUTES.
   */
  janitor: PeriodicWorker;
  /** Removes uploaded deliveries left unrun (identified data must not linger). */
  uploadExpiry: PeriodicWorker;
  /**
   * Starts requested instances, polls live ones and moves them, writes their usage; every
   * LANTERN_INSTANCE_POLL_MS once started (by `lantern start`).
   */
  instanceReconciler: PeriodicWorker;
  /** Stops workers and closes connections. */
  close(): Promise<void>;
}

/** The server's version, from its package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** What tests may replace when they create a context. */
export interface ContextOverrides {
  /** The instance service's clock (the idle culler's time), moved forward by tests. */
  now?: () => Date;
}

/**
 * Starts what `lantern start` runs beside the server once it listens: the audit sealer, the
 * mailer, the janitor, upload expiry and the instance reconciler (their first passes at once).
 */
export function startBackgroundWork(ctx: AppContext): void {
  ctx.sealer.start();
  ctx.mailer.start();
  ctx.janitor.start(0);
  ctx.uploadExpiry.start();
  ctx.instanceReconciler.start(0);
}

/** Opens the database and object store and wires the services. The caller holds the data dir lock. */
export async function createContext(
  config: Config,
  logger: Logger,
  overrides: ContextOverrides = {},
): Promise<AppContext> {
  // Before anything is opened: a bad catalogue stops the start with nothing to close.
  const instanceTypes = await loadInstanceTypes(config.instanceTypesFile);
  const key = await DeploymentKey.load(config.secretKeyFile);
  const database = await openDatabase(config);
  try {
    await key.checkAgainst(database.db, config.secretKeyFile);
  } catch (error) {
    await database.close();
    throw error;
  }
  let objectStore: ObjectStore;
  let quarantineStore: ObjectStore;
  try {
    objectStore = await openObjectStore(config, 'objects');
  } catch (error) {
    await database.close();
    throw error;
  }
  try {
    quarantineStore = await openObjectStore(config, 'quarantine');
  } catch (error) {
    await objectStore.close();
    await database.close();
    throw error;
  }
  let compute: ComputeBackend;
  try {
    compute = createComputeBackend(config);
  } catch (error) {
    await quarantineStore.close();
    await objectStore.close();
    await database.close();
    throw error;
  }
  const audit = new AuditService(database.db);
  const health = new HealthService({
    db: database.db,
    dialect: database.dialect,
    objectStore,
    compute,
    audit,
    version: VERSION,
  });
  const commonPasswords = await loadCommonPasswords();
  const email = new EmailService(database.db, audit, {
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
  });
  const secondFactor = new SecondFactorService(database.db, audit, key, email);
  const identity = new IdentityService(database.db, audit, secondFactor, {
    adminEmail: config.adminEmail,
    sessionTtlMs: config.sessionTtlMs,
    commonPasswords,
  });
  const sealer = new AuditSealer(audit, logger, config.auditSealIntervalMs);
  const links = { base: config.publicUrl ?? `http://${config.host}:${config.port}` };
  const registration = new RegistrationService(database.db, audit, email, {
    commonPasswords,
    links,
  });
  const terms = new TermsService(database.db, audit, email, links);
  await terms.ensurePublished();
  const catalog = new CatalogService(database.db, audit, objectStore);
  // Worker processes start when an ingest first needs them (none for a server that ingests none).
  const ingestPool = new IngestPool({
    workers: config.ingestWorkers,
    stores: { published: objectStore, quarantine: quarantineStore },
    scratch: join(config.dataDir, INGEST_SCRATCH_DIR),
  });
  const heldFiles = new HeldFilesService(database.db, audit, catalog, {
    published: objectStore,
    quarantine: quarantineStore,
  });
  const ingest = new IngestService(
    database.db,
    audit,
    catalog,
    key.pseudonymKey(),
    ingestPool,
    heldFiles,
  );
  const mailer = new PeriodicWorker('email delivery', () => email.deliverDue(), logger, 5_000);
  // An embedded database is this process's alone: a run still `running` at its start was
  // interrupted. Replicas sharing PostgreSQL leave each other's runs until their heartbeat stops.
  await ingest.recoverInterrupted(database.dialect === 'pglite' ? 0 : INGEST_STALE_MS);
  const objectSweep = new ObjectSweepService(database.db, audit, objectStore, {
    graceMs: config.objectSweepGraceMs,
  });
  const quarantineSweep = new ObjectSweepService(database.db, audit, quarantineStore, {
    graceMs: config.objectSweepGraceMs,
    area: 'quarantine',
  });
  const janitor = new PeriodicWorker(
    'ingest recovery and object sweep',
    async () => {
      await ingest.recoverInterrupted(INGEST_STALE_MS);
      const swept = await objectSweep.sweep();
      if (swept.deleted > 0 || swept.unfinished > 0) {
        logger.info(swept, 'unreferenced objects swept');
      }
      if (swept.skipped === null) {
        // No ingest ran while the objects were swept: what the scratch area holds that is older
        // than the grace is a dead run's.
        const folders = await ingestPool.sweepScratch(
          new Date(Date.now() - config.objectSweepGraceMs),
        );
        if (folders > 0) {
          logger.info({ folders }, 'ingest scratch folders swept');
        }
      }
      const quarantined = await quarantineSweep.sweep();
      if (quarantined.deleted > 0 || quarantined.unfinished > 0) {
        logger.info(quarantined, 'quarantined objects no held file needs swept');
      }
    },
    logger,
    config.objectSweepIntervalMs,
    false,
  );
  const ingestUploads = new IngestUploadService(database.db, config.dataDir, ingest, catalog);
  // As the ingest's runs: an upload whose run a stopped process left is failed; staging folders
  // no upload wants (identified data a crash left) go. Uploads being sent stay, to be resumed.
  await ingestUploads.recover(database.dialect === 'pglite' ? 0 : INGEST_STALE_MS);
  const uploadExpiry = new PeriodicWorker(
    'ingest upload expiry',
    () => ingestUploads.expire(),
    logger,
    60_000,
  );
  const releases = new ReleaseService(database.db, audit, email, objectStore, catalog, {
    limits: config.releaseLimits,
    thresholds: config.disclosureThresholds,
    links,
  });
  const instances = new InstanceService(
    database.db,
    audit,
    email,
    catalog,
    compute,
    new DatasetViews(config.dataDir, objectStore),
    key,
    logger,
    {
      dataDir: config.dataDir,
      types: instanceTypes,
      maxConcurrentStarts: config.maxConcurrentStarts,
      idle: { idleMs: config.instanceIdleMs, warningMs: config.instanceIdleWarningMs },
      links,
      ...(overrides.now === undefined ? {} : { now: overrides.now }),
      startWaitMs: config.instanceStartWaitMs,
      releases,
    },
  );
  // Instances outlive the server: the ones still running are taken back before anything serves.
  await instances.restore();
  const instanceReconciler = new PeriodicWorker(
    'instance reconciliation',
    () => instances.reconcile(),
    logger,
    config.instancePollMs,
    false,
  );
  return {
    config,
    logger,
    version: VERSION,
    database,
    objectStore,
    quarantineStore,
    compute,
    instanceProxy: {
      resolve: (instanceId, principal) => instances.resolveForProxy(instanceId, principal),
      recordActivity: (instanceId) => instances.recordActivity(instanceId),
      responseLimitBytes: config.proxyMaxResponseBytes,
    },
    services: {
      audit,
      health,
      identity,
      secondFactor,
      tokens: new ApiTokensService(database.db, audit),
      terms,
      userAdmin: new UserAdminService(database.db, audit, email),
      catalog,
      ingest,
      heldFiles,
      ingestUploads,
      reports: new ReportsService(database.db, audit, email, links),
      email,
      registration,
      passwordReset: new PasswordResetService(database.db, audit, email, { links }),
      admission: new AdmissionService(database.db, audit, email, objectStore),
      objectSweep,
      projects: new ProjectService(database.db, audit, email, links),
      accessRequests: new AccessRequestService(database.db, audit, email, links),
      quarantineSweep,
      instances,
      spend: new SpendService(database.db),
      releases,
    },
    links,
    sealer,
    mailer,
    janitor,
    uploadExpiry,
    instanceReconciler,
    async close() {
      await instanceReconciler.stop();
      await instances.close();
      await janitor.stop();
      await uploadExpiry.stop();
      await ingestUploads.close();
      await ingestPool.close();
      await mailer.stop();
      await email.close();
      await sealer.stop();
      await database.close();
      await objectStore.close();
      await quarantineStore.close();
    },
  };
}

/**
 * The object store the configuration chooses, ready: the data directory's objects/ made, or the
 * S3 bucket created if missing (and its crashed uploads swept). `area` 'quarantine' is ingest's
 * quarantine: the data directory's quarantine/, or the bucket's names under `quarantine/`.
 */
async function openObjectStore(
  config: Config,
  area: 'objects' | 'quarantine',
): Promise<ObjectStore> {
  if (config.objectStore === 'local' || config.s3 === undefined) {
    const local = new LocalObjectStore(config.dataDir, area);
    await local.init();
    return local;
  }
  const s3 = config.s3;
  const where = `the S3 bucket ${s3.bucket}${s3.endpoint === undefined ? ' on AWS' : ` at ${s3.endpoint}`}`;
  let secret = s3.secretAccessKey;
  if (s3.secretAccessKeyFile !== undefined) {
    try {
      secret = (await readFile(s3.secretAccessKeyFile, 'utf8')).trim();
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
      throw new ObjectStoreError(
        `cannot read LANTERN_S3_SECRET_ACCESS_KEY_FILE ${s3.secretAccessKeyFile} (${code})`,
      );
    }
  }
  const store = new S3ObjectStore({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: s3.region,
    ...(area === 'quarantine' ? { keyPrefix: 'quarantine/' } : {}),
    credentials:
      s3.accessKeyId === undefined || secret === undefined
        ? undefined
        : { accessKeyId: s3.accessKeyId, secretAccessKey: secret },
  });
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw new ObjectStoreError(
      `cannot open ${where} (${describeS3Error(error)}); check that the server is up and LANTERN_S3_* (keys, region, bucket)`,
    );
  }
  return store;
}

/** The common and breached passwords shipped in data/ (see data/README.md). */
async function loadCommonPasswords(): Promise<Set<string>> {
  const text = await readFile(new URL('../data/common-passwords.txt', import.meta.url), 'utf8');
  return new Set(text.split('\n').filter((line) => line !== ''));
}

/**
 * The instance type catalogue: the admin's JSON file (LANTERN_INSTANCE_TYPES), checked whole, or
 * the built-in one.
 */
async function loadInstanceTypes(file: string | undefined): Promise<readonly InstanceType[]> {
  if (file === undefined) {
    return DEFAULT_INSTANCE_TYPES;
  }
  let input: unknown;
  try {
    input = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([
      `LANTERN_INSTANCE_TYPES: cannot read ${file} as JSON (${error instanceof Error ? error.message : String(error)})`,
    ]);
  }
  try {
    return parseInstanceCatalogue(input);
  } catch (error) {
    throw new ConfigError([
      `LANTERN_INSTANCE_TYPES: ${file} is not a valid catalogue (${error instanceof Error ? error.message : String(error)})`,
    ]);
  }
}
