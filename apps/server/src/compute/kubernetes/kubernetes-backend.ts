/**
 * Instances as Kubernetes Pods, for the cloud (issue 8): per instance a Secret (its tokens), a
 * NetworkPolicy (no egress; ingress from the Lantern server only) and a Pod running JupyterLab,
 * all labelled with the instance id (kubernetes-manifests.ts builds them), through
 * @kubernetes/client-node. The notebook is reached at the Pod's IP on port 8888, so the server
 * must run where Pod IPs are routable (in the cluster).
 *
 * What has run against what: the manifests are tested as data and the client against a local
 * HTTP server speaking the parts of the Kubernetes API used here; not against a live cluster.
 */
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import type { ComponentCheck } from '../../storage/object-store.js';
import type {
  BackendHandle,
  BackendState,
  ComputeBackend,
  LaunchSpec,
} from '../compute-backend.js';
import {
  INSTANCE_LABEL,
  MANAGED_SELECTOR,
  NOTEBOOK_PORT,
  networkPolicyManifest,
  objectName,
  podManifest,
  secretManifest,
  type KubernetesPlacement,
} from './kubernetes-manifests.js';

export interface KubernetesBackendOptions extends KubernetesPlacement {
  /** How to reach the cluster: a kubeconfig file, the Pod's service account, or given whole. */
  kubeConfig: KubeConfig;
  /** How long `stop` waits for the Pod to be gone. */
  stopTimeoutMs?: number | undefined;
  /** Seconds the notebook has to end after SIGTERM. */
  gracePeriodSeconds?: number | undefined;
}

/** Thrown when the cluster refuses or fails a request; the message carries its reason. */
export class KubernetesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubernetesError';
  }
}

/** The cluster's configuration: a kubeconfig file, else the in-cluster service account. */
export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath !== undefined) {
    config.loadFromFile(kubeconfigPath);
  } else {
    config.loadFromCluster();
  }
  return config;
}

/** Container waiting reasons that will not mend by themselves. */
const BROKEN = new Set([
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'CrashLoopBackOff',
]);

export class KubernetesComputeBackend implements ComputeBackend {
  readonly kind = 'kubernetes';
  private readonly core: CoreV1Api;
  private readonly networking: NetworkingV1Api;

  constructor(private readonly options: KubernetesBackendOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.networking = options.kubeConfig.makeApiClient(NetworkingV1Api);
  }

  /** A Pod reaches the platform over HTTP (`/platform/v1`), never through a host's socket. */
  bindsPlatformSocket(): boolean {
    return false;
  }

  async check(): Promise<ComponentCheck> {
    const { namespace } = this.options;
    try {
      await this.core.listNamespacedPod({ namespace, labelSelector: MANAGED_SELECTOR, limit: 1 });
      const server = this.options.kubeConfig.getCurrentCluster()?.server ?? 'the cluster';
      return { ok: true, detail: `Kubernetes Pods in namespace ${namespace} at ${server}` };
    } catch (error) {
      return {
        ok: false,
        detail: `cannot list Pods in namespace ${namespace}: ${describe(error)}`,
      };
    }
  }

  async start(spec: LaunchSpec): Promise<BackendHandle> {
    const { namespace } = this.options;
    const name = objectName(spec.instanceId);
    // Idempotent by instance: what an earlier start of it left (its server died before it stored
    // the handle) is deleted first; its objects have the same names.
    const leftover = await this.find(spec.instanceId);
    if (leftover !== null) {
      await this.stop(leftover);
    }
    const secret = secretManifest(spec, this.options);
    const policy = networkPolicyManifest(spec, this.options);
    const pod = podManifest(spec, this.options);
    // The policy before the Pod: it never runs a moment without it.
    try {
      await this.core.createNamespacedSecret({ namespace, body: secret });
      await this.networking.createNamespacedNetworkPolicy({ namespace, body: policy });
      await this.core.createNamespacedPod({ namespace, body: pod });
    } catch (error) {
      await this.remove(name).catch(() => undefined);
      throw new KubernetesError(
        `Kubernetes refused instance ${spec.instanceId} (${spec.type.name}): ${describe(error)}`,
      );
    }
    return {
      kind: 'kubernetes',
      ref: name,
      details: { instanceId: spec.instanceId, namespace, baseUrl: spec.baseUrl },
    };
  }

  /** The Pod of `instanceId`, by its name (`objectName`), while it exists. */
  async find(instanceId: string): Promise<BackendHandle | null> {
    const name = objectName(instanceId);
    if (!(await this.podExists(name))) {
      return null;
    }
    return {
      kind: 'kubernetes',
      ref: name,
      details: {
        instanceId,
        namespace: this.options.namespace,
        baseUrl: `/instances/${instanceId}/`,
      },
    };
  }

  async poll(handle: BackendHandle): Promise<BackendState> {
    if (handle.kind !== 'kubernetes') {
      return { state: 'failed', reason: `a ${handle.kind} instance is not a Kubernetes Pod` };
    }
    const { namespace } = this.options;
    try {
      const pod = await this.core.readNamespacedPod({ name: handle.ref, namespace });
      return podState(pod);
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) {
        return { state: 'stopped', detail: `Pod ${handle.ref} is gone` };
      }
      throw new KubernetesError(`cannot read Pod ${handle.ref}: ${describe(error)}`);
    }
  }

  async stop(handle: BackendHandle): Promise<void> {
    await this.remove(handle.ref);
    const deadline = Date.now() + (this.options.stopTimeoutMs ?? 60_000);
    while ((await this.poll(handle)).state !== 'stopped' || (await this.podExists(handle.ref))) {
      if (Date.now() > deadline) {
        throw new KubernetesError(`Pod ${handle.ref} is still there after its deletion`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** One list of this backend's Pods by label; an instance with no Pod is stopped. */
  async restore(handles: readonly BackendHandle[]): Promise<BackendState[]> {
    const { namespace } = this.options;
    let pods: V1Pod[];
    try {
      pods = (await this.core.listNamespacedPod({ namespace, labelSelector: MANAGED_SELECTOR }))
        .items;
    } catch (error) {
      throw new KubernetesError(`cannot list Pods in ${namespace}: ${describe(error)}`);
    }
    const byInstance = new Map(
      pods.map((pod) => [pod.metadata?.labels?.[INSTANCE_LABEL] ?? '', pod] as const),
    );
    return handles.map((handle): BackendState => {
      if (handle.kind !== 'kubernetes') {
        return { state: 'failed', reason: `a ${handle.kind} instance is not a Kubernetes Pod` };
      }
      const instanceId = handle.details['instanceId'];
      const pod = typeof instanceId === 'string' ? byInstance.get(instanceId) : undefined;
      return pod === undefined
        ? { state: 'stopped', detail: `Pod ${handle.ref} is gone` }
        : podState(pod);
    });
  }

  private async podExists(name: string): Promise<boolean> {
    try {
      await this.core.readNamespacedPod({ name, namespace: this.options.namespace });
      return true;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) {
        return false;
      }
      throw new KubernetesError(`cannot read Pod ${name}: ${describe(error)}`);
    }
  }

  /** Deletes the Pod, its NetworkPolicy and its Secret; one already gone is not an error. */
  private async remove(name: string): Promise<void> {
    const { namespace } = this.options;
    const gracePeriodSeconds = this.options.gracePeriodSeconds ?? 10;
    const steps: [string, () => Promise<unknown>][] = [
      ['Pod', () => this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds })],
      ['NetworkPolicy', () => this.networking.deleteNamespacedNetworkPolicy({ name, namespace })],
      ['Secret', () => this.core.deleteNamespacedSecret({ name, namespace })],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (error) {
        if (!(error instanceof ApiException && error.code === 404)) {
          throw new KubernetesError(`cannot delete ${what} ${name}: ${describe(error)}`);
        }
      }
    }
  }
}

/** What a Pod's status says of the instance. */
export function podState(pod: V1Pod): BackendState {
  const name = pod.metadata?.name ?? 'the Pod';
  const status = pod.status ?? {};
  if (pod.metadata?.deletionTimestamp !== undefined) {
    return { state: 'stopped', detail: `Pod ${name} is being deleted` };
  }
  const container = status.containerStatuses?.[0];
  const phase: string = status.phase ?? 'Pending';
  switch (phase) {
    case 'Succeeded':
      return { state: 'stopped', detail: `Pod ${name} ended: the notebook server exited` };
    case 'Failed': {
      const ended = container?.state?.terminated;
      const why = [status.reason, ended?.reason, ended ? `exit code ${ended.exitCode}` : undefined]
        .filter((part) => part !== undefined && part !== '')
        .join(', ');
      return { state: 'failed', reason: `Pod ${name} failed${why === '' ? '' : ` (${why})`}` };
    }
    case 'Running': {
      const ready = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready === true && status.podIP !== undefined) {
        return { state: 'running', endpoint: { url: `http://${status.podIP}:${NOTEBOOK_PORT}` } };
      }
      return { state: 'starting', detail: `Pod ${name} runs; the notebook is not ready yet` };
    }
    default: {
      const waiting = container?.state?.waiting;
      if (waiting?.reason !== undefined && BROKEN.has(waiting.reason)) {
        return {
          state: 'failed',
          reason: `Pod ${name} cannot start: ${waiting.reason}${waiting.message === undefined ? '' : ` (${waiting.message})`}`,
        };
      }
      const unschedulable = status.conditions?.find(
        (c) => c.type === 'PodScheduled' && c.status === 'False',
      );
      const detail = waiting?.reason ?? unschedulable?.message ?? 'pending';
      return {
        state: 'starting',
        detail: `Pod ${name} is ${status.phase ?? 'Pending'}: ${detail}`,
      };
    }
  }
}

/** The cluster's reason for a failed request: its Status message, or the error's. */
function describe(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    let message: string | undefined;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        message = typeof parsed.message === 'string' ? parsed.message : undefined;
      } catch {
        message = body.slice(0, 200);
      }
    } else if (typeof body === 'object' && body !== null && 'message' in body) {
      message = String(body.message);
    }
    if ((message === undefined || message === '') && error.code === 401) {
      message = 'unauthorized (check the kubeconfig or the service account)';
    }
    return `HTTP ${error.code}${message === undefined || message === '' ? '' : `: ${message}`}`;
  }
  return error instanceof Error ? error.message : String(error);
}
