/**
 * The launches and cluster configuration the Kubernetes tests share, and the golden files'
 * folder: fixed values, so that the manifests they make are the same bytes every run.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_INSTANCE_TYPES, type InstanceType } from '@lantern/core/instances';
import type { LaunchSpec } from '../compute-backend.js';
import type { KubernetesPlacement } from './kubernetes-manifests.js';

export const NAMESPACE = 'lantern-instances';

export const PLACEMENT: KubernetesPlacement = {
  namespace: NAMESPACE,
  image: 'quay.io/jupyter/scipy-notebook:2025-01-06',
  volumes: {
    datasets: { claimName: 'lantern-datasets', hostRoot: '/srv/lantern/views' },
    projects: { claimName: 'lantern-projects', hostRoot: '/srv/lantern/projects' },
    homes: { claimName: 'lantern-homes', hostRoot: '/srv/lantern/homes' },
  },
  serverPodLabels: { 'app.kubernetes.io/name': 'lantern-server' },
  platform: { url: 'http://10.96.0.80:8080', serverPort: 8080 },
  user: { uid: 1000, gid: 100 },
};

export function instanceType(name: string): InstanceType {
  const type = DEFAULT_INSTANCE_TYPES.find((t) => t.name === name);
  if (type === undefined) {
    throw new Error(`no instance type ${name}`);
  }
  return type;
}

export function launch(instanceId: string, typeName: string): LaunchSpec {
  return {
    instanceId,
    type: instanceType(typeName),
    baseUrl: `/instances/${instanceId}/`,
    token: `jupyter-token-of-${instanceId}`,
    datasets: [
      {
        slug: 'arrest-ntuh-ecg',
        version: '1.0',
        hostPath: '/srv/lantern/views/arrest-ntuh-ecg/1.0',
      },
      { slug: 'brca-psj-path', version: '2.1', hostPath: '/srv/lantern/views/brca-psj-path/2.1' },
    ],
    projectPath: '/srv/lantern/projects/prj7',
    homePath: '/srv/lantern/homes/usr3',
    platformSocket: '/srv/lantern/run/platform.sock',
    platformToken: `platform-token-of-${instanceId}`,
    env: { LANTERN_DEMO: 'synthetic' },
  };
}

/** A golden file under fixtures/, parsed. */
export async function golden(name: string): Promise<unknown> {
  return JSON.parse(await readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
}
