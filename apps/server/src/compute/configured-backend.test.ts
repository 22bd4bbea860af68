import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config.js';
import { createComputeBackend } from './configured-backend.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lantern-compute-config-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const KUBERNETES = {
  LANTERN_COMPUTE_BACKEND: 'kubernetes',
  LANTERN_K8S_IMAGE: 'quay.io/jupyter/scipy-notebook:2025-01-06',
  LANTERN_K8S_DATASETS_PVC: 'lantern-datasets',
  LANTERN_K8S_PROJECTS_PVC: 'lantern-projects',
  LANTERN_K8S_HOMES_PVC: 'lantern-homes',
};

describe('the configured compute backend', () => {
  it('is the local one by default, and Slurm when chosen', () => {
    expect(createComputeBackend(parseConfig({ LANTERN_DATA_DIR: work })).kind).toBe('local');
    const slurm = parseConfig({
      LANTERN_DATA_DIR: work,
      LANTERN_COMPUTE_BACKEND: 'slurm',
      LANTERN_SLURM_INSTANCES_DIR: join(work, 'instances'),
    });
    expect(createComputeBackend(slurm).kind).toBe('slurm');
  });

  it('is Kubernetes from a kubeconfig file, and says which variable when the file cannot be read', async () => {
    const kubeconfig = join(work, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
        'users: [{name: u, user: {token: not-a-real-token}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const config = parseConfig({ ...KUBERNETES, LANTERN_K8S_KUBECONFIG: kubeconfig });
    expect(createComputeBackend(config).kind).toBe('kubernetes');

    const missing = parseConfig({ ...KUBERNETES, LANTERN_K8S_KUBECONFIG: join(work, 'absent') });
    expect(() => createComputeBackend(missing)).toThrow(ConfigError);
    expect(() => createComputeBackend(missing)).toThrow(
      /LANTERN_K8S_KUBECONFIG: cannot load .*absent \(ENOENT\)/u,
    );
  });
});
