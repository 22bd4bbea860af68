/**
 * The compute backend a server runs instances on, as its configuration chooses
 * (`LANTERN_COMPUTE_BACKEND`): sandboxed local processes by default, Slurm batch jobs, or
 * Kubernetes Pods. Built once at boot by context.ts; the instance service, the proxy and the
 * status page see only the `ComputeBackend` interface.
 */
import { ConfigError, type Config } from '../config.js';
import type { ComputeBackend } from './compute-backend.js';
import { KubernetesComputeBackend, loadKubeConfig } from './kubernetes/kubernetes-backend.js';
import { LocalComputeBackend } from './local/local-backend.js';
import { DEFAULT_SANDBOX_USER } from './sandbox-command.js';
import { SlurmComputeBackend } from './slurm/slurm-backend.js';

/** The uid and gid of the Jupyter Docker Stacks' user `jovyan`, whom Pods run as. */
const POD_USER = { uid: 1000, gid: 100 };
/** The labels of the Lantern server's own Pods: the only ones an instance's NetworkPolicy lets in. */
const SERVER_POD_LABELS = { 'app.kubernetes.io/name': 'lantern-server' };

/**
 * The configured backend. Throws a ConfigError when its settings cannot be used (a kubeconfig that
 * cannot be read, no in-cluster service account), naming the variable; never the file's contents.
 */
export function createComputeBackend(
  config: Pick<Config, 'computeBackend' | 'dataDir' | 'port' | 'slurm' | 'kubernetes'>,
): ComputeBackend {
  switch (config.computeBackend) {
    case 'local':
      return new LocalComputeBackend({ dataDir: config.dataDir });
    case 'slurm': {
      const slurm = required(config.slurm, 'LANTERN_SLURM_INSTANCES_DIR');
      return new SlurmComputeBackend({
        slurmConf: slurm.slurmConf,
        sharedDir: slurm.instancesDir,
        partition: slurm.partition,
        account: slurm.account,
        sandboxUser: DEFAULT_SANDBOX_USER,
        relay: slurm.relay,
      });
    }
    case 'kubernetes': {
      const k8s = required(config.kubernetes, 'LANTERN_K8S_IMAGE');
      return new KubernetesComputeBackend({
        namespace: k8s.namespace,
        image: k8s.image,
        kubeConfig: kubeConfigOf(k8s.kubeconfig),
        // The server mounts the claims at these folders of its data directory: the paths it gives
        // an instance are made relative to them, as the claims' sub-paths.
        volumes: {
          datasets: { claimName: k8s.datasetsClaim, hostRoot: `${config.dataDir}/dataset-views` },
          projects: { claimName: k8s.projectsClaim, hostRoot: `${config.dataDir}/project-files` },
          homes: { claimName: k8s.homesClaim, hostRoot: `${config.dataDir}/homes` },
        },
        serverPodLabels: SERVER_POD_LABELS,
        platform:
          k8s.platformUrl === undefined ? null : { url: k8s.platformUrl, serverPort: config.port },
        user: POD_USER,
      });
    }
  }
}

function required<T>(settings: T | undefined, variable: string): T {
  if (settings === undefined) {
    throw new ConfigError([`${variable}: is required for this compute backend`]);
  }
  return settings;
}

function kubeConfigOf(path: string | undefined): ReturnType<typeof loadKubeConfig> {
  try {
    return loadKubeConfig(path);
  } catch (error) {
    const why = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new ConfigError([
      path === undefined
        ? `LANTERN_K8S_KUBECONFIG: unset, and this server is not in a Kubernetes Pod with a service account (${why})`
        : `LANTERN_K8S_KUBECONFIG: cannot load ${path} (${why})`,
    ]);
  }
}
