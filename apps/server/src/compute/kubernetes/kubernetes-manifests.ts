/**
 * A notebook instance on Kubernetes, as data (issue 8): the Pod that runs JupyterLab, the Secret
 * holding its tokens, and the NetworkPolicy that denies it all egress and lets in only the Lantern
 * server. Pure functions of a LaunchSpec and the cluster's configuration, typed with the client
 * library's models and tested against golden files.
 *
 * Volumes: the configuration names three PersistentVolumeClaims (dataset views, project folders,
 * home folders) and the folder at which the server sees each; a LaunchSpec's host paths become
 * sub-paths of those claims, and a path outside its claim's folder is refused.
 */
import { isAbsolute, relative, sep } from 'node:path';
import type {
  V1NetworkPolicy,
  V1Pod,
  V1Secret,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { sandboxEnvironment } from '../sandbox-command.js';
import type { LaunchSpec } from '../compute-backend.js';

/** A PersistentVolumeClaim and the folder at which the Lantern server sees the same files. */
export interface ClaimMapping {
  claimName: string;
  hostRoot: string;
}

export interface KubernetesPlacement {
  namespace: string;
  /** The JupyterLab image (a Jupyter Docker Stacks image, or one built from it). */
  image: string;
  volumes: { datasets: ClaimMapping; projects: ClaimMapping; homes: ClaimMapping };
  /** Labels of the Lantern server's Pods: the only ones the NetworkPolicy lets in. */
  serverPodLabels: Readonly<Record<string, string>>;
  /**
   * Where ngsci reaches the platform from a Pod (`LANTERN_PLATFORM_URL`: the server Service's
   * ClusterIP, so that no DNS is needed), and the port the server's Pods listen on, the only
   * egress the NetworkPolicy allows; null: no egress at all, and ngsci cannot reach the server.
   */
  platform: { url: string; serverPort: number } | null;
  /** The uid and gid the notebook runs as (the Docker Stacks' jovyan is 1000:100). */
  user: { uid: number; gid: number };
}

/** Thrown when a launch cannot be expressed as manifests (a path outside its claim, a bad id). */
export class KubernetesSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubernetesSpecError';
  }
}

export const NOTEBOOK_PORT = 8888;
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const INSTANCE_LABEL = 'lantern.dev/instance-id';
export const TYPE_LABEL = 'lantern.dev/instance-type';
/** The label selector of every object this backend made. */
export const MANAGED_SELECTOR = `${MANAGED_BY}=lantern`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u;

/** The name of an instance's Pod, Secret and NetworkPolicy: `lantern-<id>`, a DNS label. */
export function objectName(instanceId: string): string {
  const name = `lantern-${instanceId.toLowerCase()}`;
  if (name.length > 63 || !DNS_LABEL.test(name) || !/^[A-Za-z0-9_.-]{1,63}$/u.test(instanceId)) {
    throw new KubernetesSpecError(
      `instance id ${JSON.stringify(instanceId)} cannot name a Kubernetes object`,
    );
  }
  return name;
}

/** The labels every object of an instance carries; restore finds Pods by them. */
export function instanceLabels(
  spec: Pick<LaunchSpec, 'instanceId' | 'type'>,
): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'lantern-notebook',
    [MANAGED_BY]: 'lantern',
    [INSTANCE_LABEL]: spec.instanceId,
    [TYPE_LABEL]: spec.type.name,
  };
}

/** The Secret with Jupyter's token and the platform token, read by the Pod, never by its spec. */
export function secretManifest(spec: LaunchSpec, placement: KubernetesPlacement): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: objectName(spec.instanceId),
      namespace: placement.namespace,
      labels: instanceLabels(spec),
    },
    type: 'Opaque',
    stringData: { 'jupyter-token': spec.token, 'platform-token': spec.platformToken },
  };
}

/** Sandbox variables a Pod does without: the image's own, and the local platform socket. */
const POD_KEEPS_ITS_OWN = new Set([
  'PATH',
  'PYTHONPATH',
  'JUPYTER_RUNTIME_DIR',
  'LANTERN_PLATFORM_SOCKET',
]);

/**
 * The Pod: JupyterLab under the proxy's base URL on port 8888, as an unprivileged user with no
 * capabilities and no service account token; the type's CPUs, memory, disk and GPUs as requests
 * and limits; datasets read-only at /home/ngsci/datasets/<slug>/<version>, the project's folder at
 * /home/ngsci/project, the user's home at /home/ngsci. Never restarted: a stopped notebook ends.
 */
export function podManifest(spec: LaunchSpec, placement: KubernetesPlacement): V1Pod {
  const name = objectName(spec.instanceId);
  const { type } = spec;
  const resources: Record<string, string> = {
    cpu: String(type.vcpus),
    memory: `${type.memoryMib}Mi`,
    'ephemeral-storage': `${type.diskGib}Gi`,
  };
  if (type.gpu !== null) {
    resources['nvidia.com/gpu'] = String(type.gpu.count);
  }
  const env = [
    ...Object.entries(sandboxEnvironment(spec))
      // The image's own PATH and PYTHONPATH (conda's) stay; the platform's socket is not
      // reachable from a Pod (its URL is, when configured).
      .filter(([key]) => !POD_KEEPS_ITS_OWN.has(key))
      .map(([key, value]) => ({ name: key, value })),
    { name: 'LANTERN_PLATFORM_TOKEN_FILE', value: '/run/lantern/secrets/platform-token' },
    ...(placement.platform === null
      ? []
      : [{ name: 'LANTERN_PLATFORM_URL', value: placement.platform.url }]),
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: placement.namespace, labels: instanceLabels(spec) },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostname: 'sandbox',
      securityContext: {
        runAsUser: placement.user.uid,
        runAsGroup: placement.user.gid,
        fsGroup: placement.user.gid,
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(type.gpu === null
        ? {}
        : {
            tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          }),
      containers: [
        {
          name: 'notebook',
          image: placement.image,
          imagePullPolicy: 'IfNotPresent',
          command: [
            'jupyter',
            'lab',
            '--ServerApp.ip=0.0.0.0',
            `--ServerApp.port=${NOTEBOOK_PORT}`,
            `--ServerApp.base_url=${spec.baseUrl}`,
            '--ServerApp.root_dir=/home/ngsci',
            '--ServerApp.open_browser=False',
            '--ServerApp.allow_remote_access=True',
          ],
          workingDir: '/home/ngsci',
          ports: [{ name: 'notebook', containerPort: NOTEBOOK_PORT, protocol: 'TCP' }],
          env: [
            ...env,
            {
              name: 'JUPYTER_TOKEN',
              valueFrom: { secretKeyRef: { name, key: 'jupyter-token' } },
            },
          ],
          resources: { requests: resources, limits: { ...resources } },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
          // `<base>/api` answers without a token once the server is up.
          readinessProbe: {
            httpGet: { path: `${spec.baseUrl}api`, port: NOTEBOOK_PORT },
            periodSeconds: 2,
          },
          volumeMounts: volumeMounts(spec, placement),
        },
      ],
      volumes: volumes(name, placement),
    },
  };
}

function volumes(name: string, placement: KubernetesPlacement): V1Volume[] {
  const { datasets, projects, homes } = placement.volumes;
  return [
    { name: 'home', persistentVolumeClaim: { claimName: homes.claimName } },
    { name: 'project', persistentVolumeClaim: { claimName: projects.claimName } },
    {
      name: 'datasets',
      persistentVolumeClaim: { claimName: datasets.claimName, readOnly: true },
    },
    {
      name: 'secrets',
      secret: { secretName: name, items: [{ key: 'platform-token', path: 'platform-token' }] },
    },
  ];
}

function volumeMounts(spec: LaunchSpec, placement: KubernetesPlacement): V1VolumeMount[] {
  const { datasets, projects, homes } = placement.volumes;
  const mounts: V1VolumeMount[] = [
    { name: 'home', mountPath: '/home/ngsci', subPath: subPath(homes, spec.homePath) },
    {
      name: 'project',
      mountPath: '/home/ngsci/project',
      subPath: subPath(projects, spec.projectPath),
    },
  ];
  const sorted = [...spec.datasets].sort(
    (a, b) => a.slug.localeCompare(b.slug) || a.version.localeCompare(b.version),
  );
  for (const dataset of sorted) {
    mounts.push({
      name: 'datasets',
      mountPath: `/home/ngsci/datasets/${dataset.slug}/${dataset.version}`,
      subPath: subPath(datasets, dataset.hostPath),
      readOnly: true,
    });
  }
  mounts.push({ name: 'secrets', mountPath: '/run/lantern/secrets', readOnly: true });
  return mounts;
}

/** `path` relative to its claim's folder; refused unless strictly inside it. */
function subPath(claim: ClaimMapping, path: string): string {
  const rel = relative(claim.hostRoot, path);
  if (!isAbsolute(path) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new KubernetesSpecError(
      `${path} is not inside ${claim.hostRoot}, the folder of volume claim ${claim.claimName}`,
    );
  }
  return rel.split(sep).join('/');
}

/**
 * The NetworkPolicy: ingress only from the Lantern server's Pods to the notebook's port; egress
 * only to the server's Pods on their port, for ngsci, when the platform's URL is configured, and
 * none otherwise (never DNS, which would be a way out).
 */
export function networkPolicyManifest(
  spec: LaunchSpec,
  placement: KubernetesPlacement,
): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: objectName(spec.instanceId),
      namespace: placement.namespace,
      labels: instanceLabels(spec),
    },
    spec: {
      podSelector: { matchLabels: { [INSTANCE_LABEL]: spec.instanceId } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          _from: [{ podSelector: { matchLabels: { ...placement.serverPodLabels } } }],
          ports: [{ protocol: 'TCP', port: NOTEBOOK_PORT }],
        },
      ],
      egress:
        placement.platform === null
          ? []
          : [
              {
                to: [{ podSelector: { matchLabels: { ...placement.serverPodLabels } } }],
                ports: [{ protocol: 'TCP', port: placement.platform.serverPort }],
              },
            ],
    },
  };
}
