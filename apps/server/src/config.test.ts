import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { ConfigError, defaultIngestWorkers, parseConfig } from './config.js';

describe('parseConfig', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      databaseUrl: undefined,
      logLevel: 'info',
      objectStore: 'local',
      computeBackend: 'local',
      instanceIdleMs: 60 * 60_000,
      instanceIdleWarningMs: 10 * 60_000,
      proxyMaxResponseBytes: 32 * 1024 * 1024,
      instancePollMs: 2000,
      instanceStartWaitMs: 2000,
    });
    expect(config.dataDir).toMatch(/\/\.lantern$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads LANTERN_* variables, and flags win over them', () => {
    const config = parseConfig(
      {
        LANTERN_PORT: '9000',
        LANTERN_HOST: '0.0.0.0',
        LANTERN_DATABASE_URL: 'postgresql://u:p@db/lantern',
        LANTERN_DATA_DIR: '/srv/a',
      },
      { port: '9100', dataDir: '/srv/b' },
    );
    expect(config).toMatchObject({
      port: 9100,
      host: '0.0.0.0',
      dataDir: '/srv/b',
      databaseUrl: 'postgresql://u:p@db/lantern',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ LANTERN_DATABASE_URL: '', LANTERN_PORT: '' })).toMatchObject({
      databaseUrl: undefined,
      port: 8080,
    });
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      parseConfig({
        LANTERN_PORT: '70000',
        LANTERN_DATABASE_URL: 'mysql://x',
        LANTERN_LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/LANTERN_PORT/);
    expect(problems).toMatch(/LANTERN_DATABASE_URL: must be a postgres/);
    expect(problems).toMatch(/LANTERN_LOG_LEVEL/);
  });

  it('reads how long a launch waits for its instance before answering 202', () => {
    expect(parseConfig({ LANTERN_INSTANCE_START_WAIT_MS: '0' }).instanceStartWaitMs).toBe(0);
    expect(parseConfig({ LANTERN_INSTANCE_START_WAIT_MS: '15000' }).instanceStartWaitMs).toBe(
      15_000,
    );
    expect(() => parseConfig({ LANTERN_INSTANCE_START_WAIT_MS: '-1' })).toThrow(
      /LANTERN_INSTANCE_START_WAIT_MS/,
    );
    expect(() => parseConfig({ LANTERN_INSTANCE_START_WAIT_MS: '120000' })).toThrow(
      /LANTERN_INSTANCE_START_WAIT_MS/,
    );
  });

  it('reads the ingest worker threads: two by default, one on a single core, 0 to 64', () => {
    expect(defaultIngestWorkers()).toBe(availableParallelism() === 1 ? 1 : 2);
    expect(parseConfig({}).ingestWorkers).toBe(defaultIngestWorkers());
    expect(
      ['0', '1', '2', '64'].map((n) => parseConfig({ LANTERN_INGEST_WORKERS: n }).ingestWorkers),
    ).toEqual([0, 1, 2, 64]);
    for (const bad of ['-1', '65', '1.5', 'two']) {
      expect(() => parseConfig({ LANTERN_INGEST_WORKERS: bad })).toThrow(/LANTERN_INGEST_WORKERS/);
    }
  });

  it('refuses a port that is not a whole number', () => {
    expect(() => parseConfig({}, { port: '80.5' })).toThrow(/LANTERN_PORT: must be a whole number/);
    expect(() => parseConfig({}, { port: 'http' })).toThrow(/LANTERN_PORT/);
  });

  it('chooses an S3 object store, which wants a bucket and whole credentials', () => {
    expect(parseConfig({}).s3).toBeUndefined();
    const config = parseConfig({
      LANTERN_OBJECT_STORE: 's3',
      LANTERN_S3_ENDPOINT: 'http://127.0.0.1:7480/',
      LANTERN_S3_BUCKET: 'lantern-objects',
      LANTERN_S3_ACCESS_KEY_ID: 'AKEXAMPLE',
      LANTERN_S3_SECRET_ACCESS_KEY_FILE: '/run/secrets/s3',
    });
    expect(config.objectStore).toBe('s3');
    expect(config.s3).toEqual({
      endpoint: 'http://127.0.0.1:7480',
      bucket: 'lantern-objects',
      region: 'us-east-1',
      accessKeyId: 'AKEXAMPLE',
      secretAccessKey: undefined,
      secretAccessKeyFile: '/run/secrets/s3',
    });
    // No static keys: the AWS SDK's own chain (environment, instance role).
    expect(parseConfig({ LANTERN_OBJECT_STORE: 's3', LANTERN_S3_BUCKET: 'b-1' }).s3).toMatchObject({
      endpoint: undefined,
      accessKeyId: undefined,
    });
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig({ LANTERN_OBJECT_STORE: 's3', ...env });
      } catch (error) {
        return (error as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({})).toMatch(/LANTERN_S3_BUCKET: is required/);
    expect(problems({ LANTERN_S3_BUCKET: 'Bad_Bucket' })).toMatch(/LANTERN_S3_BUCKET: must be/);
    expect(problems({ LANTERN_S3_BUCKET: 'b-1', LANTERN_S3_ENDPOINT: 'ftp://x' })).toMatch(
      /LANTERN_S3_ENDPOINT: must be an http/,
    );
    expect(problems({ LANTERN_S3_BUCKET: 'b-1', LANTERN_S3_SECRET_ACCESS_KEY: 's' })).toMatch(
      /LANTERN_S3_ACCESS_KEY_ID: is required with a secret/,
    );
    expect(problems({ LANTERN_S3_BUCKET: 'b-1', LANTERN_S3_ACCESS_KEY_ID: 'k' })).toMatch(
      /LANTERN_S3_SECRET_ACCESS_KEY: is required/,
    );
    expect(
      problems({
        LANTERN_S3_BUCKET: 'b-1',
        LANTERN_S3_ACCESS_KEY_ID: 'k',
        LANTERN_S3_SECRET_ACCESS_KEY: 's',
        LANTERN_S3_SECRET_ACCESS_KEY_FILE: '/f',
      }),
    ).toMatch(/not both/);
  });

  it('chooses the compute backend, with the chosen one’s settings only', () => {
    expect(parseConfig({})).toMatchObject({
      computeBackend: 'local',
      slurm: undefined,
      kubernetes: undefined,
    });
    expect(
      parseConfig({
        LANTERN_COMPUTE_BACKEND: 'slurm',
        LANTERN_SLURM_INSTANCES_DIR: '/shared/lantern/instances',
        LANTERN_SLURM_PARTITION: 'gpu-a100',
        // Another backend's variables are not read.
        LANTERN_K8S_IMAGE: 'quay.io/jupyter/scipy-notebook:2025-01-06',
      }),
    ).toMatchObject({
      computeBackend: 'slurm',
      slurm: {
        slurmConf: '/etc/slurm/slurm.conf',
        instancesDir: '/shared/lantern/instances',
        partition: 'gpu-a100',
        account: undefined,
        relay: undefined,
      },
      kubernetes: undefined,
    });
    const relayed = (env: Record<string, string>) =>
      parseConfig({
        LANTERN_COMPUTE_BACKEND: 'slurm',
        LANTERN_SLURM_INSTANCES_DIR: '/shared/lantern/instances',
        ...env,
      }).slurm?.relay;
    expect(relayed({ LANTERN_SLURM_PLATFORM_URL: 'http://lantern.hpc.example:8080' })).toBe(
      undefined,
    );
    expect(
      relayed({
        LANTERN_SLURM_RELAY: 'on',
        LANTERN_SLURM_PLATFORM_URL: 'http://lantern.hpc.example:8080',
      }),
    ).toEqual({ bind: '0.0.0.0', platformUrl: 'http://lantern.hpc.example:8080' });
    expect(
      relayed({
        LANTERN_SLURM_RELAY: 'on',
        LANTERN_SLURM_PLATFORM_URL: 'https://10.1.0.5/lantern',
        LANTERN_SLURM_RELAY_BIND: '10.2.0.0',
      }),
    ).toEqual({ bind: '10.2.0.0', platformUrl: 'https://10.1.0.5/lantern' });
    const k8s = parseConfig({
      LANTERN_COMPUTE_BACKEND: 'kubernetes',
      LANTERN_K8S_IMAGE: 'quay.io/jupyter/scipy-notebook:2025-01-06',
      LANTERN_K8S_DATASETS_PVC: 'lantern-datasets',
      LANTERN_K8S_PROJECTS_PVC: 'lantern-projects',
      LANTERN_K8S_HOMES_PVC: 'lantern-homes',
    });
    expect(k8s.kubernetes).toEqual({
      namespace: 'lantern-instances',
      image: 'quay.io/jupyter/scipy-notebook:2025-01-06',
      kubeconfig: undefined,
      datasetsClaim: 'lantern-datasets',
      projectsClaim: 'lantern-projects',
      homesClaim: 'lantern-homes',
      platformUrl: undefined,
    });
    expect(k8s.slurm).toBeUndefined();
    const reachable = (url: string) =>
      parseConfig({
        LANTERN_COMPUTE_BACKEND: 'kubernetes',
        LANTERN_K8S_IMAGE: 'quay.io/jupyter/scipy-notebook:2025-01-06',
        LANTERN_K8S_DATASETS_PVC: 'lantern-datasets',
        LANTERN_K8S_PROJECTS_PVC: 'lantern-projects',
        LANTERN_K8S_HOMES_PVC: 'lantern-homes',
        LANTERN_K8S_PLATFORM_URL: url,
      }).kubernetes?.platformUrl;
    expect(reachable('http://10.96.0.80:8080')).toBe('http://10.96.0.80:8080');
    expect(reachable('https://[fd00::80]:443/lantern')).toBe('https://[fd00::80]:443/lantern');
    for (const url of [
      'http://lantern.lantern.svc:8080',
      'ftp://10.0.0.1/',
      'http://10.0.0.1/?x=1',
    ]) {
      expect(() => reachable(url)).toThrow(
        /LANTERN_K8S_PLATFORM_URL: must be an http\(s\) URL whose host is an IP address/u,
      );
    }
  });

  it('names each missing or malformed compute setting', () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (error) {
        return (error as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({ LANTERN_COMPUTE_BACKEND: 'nomad' })).toMatch(
      /LANTERN_COMPUTE_BACKEND: must be local, slurm or kubernetes/,
    );
    expect(problems({ LANTERN_COMPUTE_BACKEND: 'slurm' })).toBe(
      'LANTERN_SLURM_INSTANCES_DIR: is required when LANTERN_COMPUTE_BACKEND is slurm',
    );
    expect(
      problems({
        LANTERN_COMPUTE_BACKEND: 'slurm',
        LANTERN_SLURM_INSTANCES_DIR: '/s',
        LANTERN_SLURM_PARTITION: 'a b; rm',
      }),
    ).toMatch(/LANTERN_SLURM_PARTITION: must be a Slurm name/);
    expect(
      problems({
        LANTERN_COMPUTE_BACKEND: 'slurm',
        LANTERN_SLURM_INSTANCES_DIR: '/s',
        LANTERN_SLURM_RELAY: 'on',
      }),
    ).toBe(
      'LANTERN_SLURM_PLATFORM_URL: is required when LANTERN_SLURM_RELAY is on (where ngsci reaches the server)',
    );
    expect(
      problems({
        LANTERN_COMPUTE_BACKEND: 'slurm',
        LANTERN_SLURM_INSTANCES_DIR: '/s',
        LANTERN_SLURM_RELAY: 'yes',
        LANTERN_SLURM_PLATFORM_URL: 'http://user:pw@lantern:8080/?x=1',
        LANTERN_SLURM_RELAY_BIND: 'node01',
      }).split('\n'),
    ).toEqual([
      'LANTERN_SLURM_RELAY: must be on or off',
      'LANTERN_SLURM_PLATFORM_URL: must be an http(s) URL without credentials, query or fragment',
      'LANTERN_SLURM_RELAY_BIND: must be an IP address',
    ]);
    const k8s = problems({ LANTERN_COMPUTE_BACKEND: 'kubernetes', LANTERN_K8S_NAMESPACE: 'Lab' });
    expect(k8s).toMatch(/^LANTERN_K8S_NAMESPACE: must be lower-case letters, digits and hyphens$/m);
    expect(problems({ LANTERN_COMPUTE_BACKEND: 'kubernetes' }).split('\n')).toEqual([
      'LANTERN_K8S_IMAGE: is required when LANTERN_COMPUTE_BACKEND is kubernetes',
      'LANTERN_K8S_DATASETS_PVC: is required when LANTERN_COMPUTE_BACKEND is kubernetes',
      'LANTERN_K8S_PROJECTS_PVC: is required when LANTERN_COMPUTE_BACKEND is kubernetes',
      'LANTERN_K8S_HOMES_PVC: is required when LANTERN_COMPUTE_BACKEND is kubernetes',
    ]);
    expect(
      problems({
        LANTERN_COMPUTE_BACKEND: 'kubernetes',
        LANTERN_K8S_IMAGE: 'jupyter lab',
        LANTERN_K8S_DATASETS_PVC: 'Datasets',
        LANTERN_K8S_PROJECTS_PVC: 'p',
        LANTERN_K8S_HOMES_PVC: 'h',
      }),
    ).toMatch(
      /LANTERN_K8S_IMAGE: must be a container image[\s\S]*LANTERN_K8S_DATASETS_PVC: must be a Kubernetes object name/,
    );
  });

  it('reads the idle culling times and the proxy response limit, a warning shorter than the idle time', () => {
    expect(
      parseConfig({
        LANTERN_INSTANCE_IDLE_MINUTES: '120',
        LANTERN_INSTANCE_IDLE_WARNING_MINUTES: '15',
        LANTERN_PROXY_MAX_RESPONSE_BYTES: '1048576',
      }),
    ).toMatchObject({
      instanceIdleMs: 120 * 60_000,
      instanceIdleWarningMs: 15 * 60_000,
      proxyMaxResponseBytes: 1024 * 1024,
    });
    // 0 turns culling off, whatever the warning.
    expect(
      parseConfig({
        LANTERN_INSTANCE_IDLE_MINUTES: '0',
        LANTERN_INSTANCE_IDLE_WARNING_MINUTES: '30',
      }),
    ).toMatchObject({ instanceIdleMs: 0 });
    expect(() =>
      parseConfig({
        LANTERN_INSTANCE_IDLE_MINUTES: '10',
        LANTERN_INSTANCE_IDLE_WARNING_MINUTES: '10',
      }),
    ).toThrow(
      /LANTERN_INSTANCE_IDLE_WARNING_MINUTES: must be less than LANTERN_INSTANCE_IDLE_MINUTES \(10\)/,
    );
    expect(() => parseConfig({ LANTERN_INSTANCE_IDLE_MINUTES: '-1' })).toThrow(
      /LANTERN_INSTANCE_IDLE_MINUTES/,
    );
    expect(() => parseConfig({ LANTERN_PROXY_MAX_RESPONSE_BYTES: '1000' })).toThrow(
      /LANTERN_PROXY_MAX_RESPONSE_BYTES/,
    );
  });
});
