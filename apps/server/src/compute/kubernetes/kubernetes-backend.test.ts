import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubernetesApi, type FakeKubernetesApi } from '../../testing/kubernetes-api.js';
import { KubernetesComputeBackend, KubernetesError } from './kubernetes-backend.js';
import { golden, launch, NAMESPACE, PLACEMENT } from './kubernetes-fixtures.js';

// The real client (@kubernetes/client-node) against a local server speaking the API's Pods,
// Secrets and NetworkPolicies: what goes over the wire, and how the answers are read.
let api: FakeKubernetesApi;
let backend: KubernetesComputeBackend;

beforeAll(async () => {
  api = await startFakeKubernetesApi(NAMESPACE);
  backend = new KubernetesComputeBackend({
    ...PLACEMENT,
    kubeConfig: api.kubeConfig(),
    stopTimeoutMs: 5_000,
  });
});

afterAll(async () => {
  await api?.close();
});

const ready = (podIP: string) => ({
  phase: 'Running',
  podIP,
  conditions: [{ type: 'Ready', status: 'True' }],
  containerStatuses: [
    {
      name: 'notebook',
      ready: true,
      restartCount: 0,
      image: 'x',
      imageID: 'y',
      state: { running: {} },
    },
  ],
});

describe('the Kubernetes backend against a local API server', () => {
  it('looks for a Pod the instance left, then creates the Secret, the NetworkPolicy and the Pod, as the golden files, with its token', async () => {
    const from = api.requests.length;
    const handle = await backend.start(launch('gpu2b9c', 'gpu.a100'));
    expect(handle).toEqual({
      kind: 'kubernetes',
      ref: 'lantern-gpu2b9c',
      details: { instanceId: 'gpu2b9c', namespace: NAMESPACE, baseUrl: '/instances/gpu2b9c/' },
    });
    const sent = api.requests.slice(from);
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /api/v1/namespaces/${NAMESPACE}/pods/lantern-gpu2b9c`,
      `POST /api/v1/namespaces/${NAMESPACE}/secrets`,
      `POST /apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/networkpolicies`,
      `POST /api/v1/namespaces/${NAMESPACE}/pods`,
    ]);
    expect(sent.every((r) => r.authorization === 'Bearer test-bearer-token')).toBe(true);
    expect(sent[1]?.body).toEqual(await golden('gpu2b9c-secret.json'));
    expect(sent[2]?.body).toEqual(await golden('gpu2b9c-networkpolicy.json'));
    expect(sent[3]?.body).toEqual(await golden('gpu2b9c-pod.json'));
  });

  it('says starting until the Pod is ready, then running at its IP', async () => {
    const handle = await backend.start(launch('poll1', 'cpu.xsmall'));
    expect(await backend.poll(handle)).toEqual({
      state: 'starting',
      detail: 'Pod lantern-poll1 is Pending: pending',
    });
    api.setPodStatus('lantern-poll1', {
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'notebook',
          ready: false,
          restartCount: 0,
          image: 'x',
          imageID: '',
          state: { waiting: { reason: 'ContainerCreating' } },
        },
      ],
    });
    expect(await backend.poll(handle)).toMatchObject({
      state: 'starting',
      detail: expect.stringContaining('ContainerCreating') as unknown,
    });
    api.setPodStatus('lantern-poll1', {
      ...ready('10.1.2.3'),
      conditions: [{ type: 'Ready', status: 'False' }],
    });
    expect((await backend.poll(handle)).state).toBe('starting');
    api.setPodStatus('lantern-poll1', ready('10.1.2.3'));
    expect(await backend.poll(handle)).toEqual({
      state: 'running',
      endpoint: { url: 'http://10.1.2.3:8888' },
    });
    await backend.stop(handle);
  });

  it('reads a failed Pod and a broken image as failures with their reasons', async () => {
    const crashed = await backend.start(launch('fail1', 'cpu.xsmall'));
    api.setPodStatus('lantern-fail1', {
      phase: 'Failed',
      containerStatuses: [
        {
          name: 'notebook',
          ready: false,
          restartCount: 0,
          image: 'x',
          imageID: '',
          state: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
        },
      ],
    });
    expect(await backend.poll(crashed)).toEqual({
      state: 'failed',
      reason: 'Pod lantern-fail1 failed (OOMKilled, exit code 137)',
    });
    const broken = await backend.start(launch('fail2', 'cpu.xsmall'));
    api.setPodStatus('lantern-fail2', {
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'notebook',
          ready: false,
          restartCount: 0,
          image: 'x',
          imageID: '',
          state: { waiting: { reason: 'InvalidImageName', message: 'bad reference' } },
        },
      ],
    });
    expect(await backend.poll(broken)).toEqual({
      state: 'failed',
      reason: 'Pod lantern-fail2 cannot start: InvalidImageName (bad reference)',
    });
    await backend.stop(crashed);
    await backend.stop(broken);
  });

  it('stops by deleting all three objects, and a second stop is no error', async () => {
    const handle = await backend.start(launch('stop1', 'cpu.xsmall'));
    await backend.stop(handle);
    for (const kind of ['pods', 'secrets', 'networkpolicies'] as const) {
      expect(api.objects(kind).has('lantern-stop1')).toBe(false);
    }
    expect(await backend.poll(handle)).toEqual({
      state: 'stopped',
      detail: 'Pod lantern-stop1 is gone',
    });
    await backend.stop(handle);
  });

  it('restores by listing Pods by label: a running one re-attached, a vanished one stopped', async () => {
    const live = await backend.start(launch('live1', 'cpu.xsmall'));
    const vanished = await backend.start(launch('gone1', 'cpu.xsmall'));
    api.setPodStatus('lantern-live1', ready('10.9.8.7'));
    api.objects('pods').delete('lantern-gone1');
    const restarted = new KubernetesComputeBackend({ ...PLACEMENT, kubeConfig: api.kubeConfig() });
    const from = api.requests.length;
    expect(await restarted.restore([live, vanished])).toEqual([
      { state: 'running', endpoint: { url: 'http://10.9.8.7:8888' } },
      { state: 'stopped', detail: 'Pod lantern-gone1 is gone' },
    ]);
    const listed = api.requests.slice(from);
    expect(listed).toHaveLength(1);
    expect(decodeURIComponent(listed[0]?.path ?? '')).toBe(
      `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=app.kubernetes.io/managed-by=lantern`,
    );
    await restarted.stop(live);
    await restarted.stop(vanished);
  });

  it('finds what a start left by the instance id alone, and a second start replaces it', async () => {
    expect(await backend.find('again1')).toBeNull();
    const first = await backend.start(launch('again1', 'cpu.xsmall'));
    expect(await backend.find('again1')).toEqual(first);
    const firstPod = api.objects('pods').get('lantern-again1');
    // A start whose server died before storing the handle, started again: one Pod, the new one.
    const second = await backend.start(launch('again1', 'cpu.xsmall'));
    expect(second).toEqual(first);
    expect(api.objects('pods').get('lantern-again1')).not.toBe(firstPod);
    await backend.stop(second);
    expect(await backend.find('again1')).toBeNull();
  });

  it('turns the cluster’s refusals into clear errors and leaves nothing half made', async () => {
    const first = await backend.start(launch('dup1', 'cpu.xsmall'));
    // A NetworkPolicy left without its Pod: creating it again is refused, and the new Secret goes.
    api.objects('pods').delete('lantern-dup1');
    api.objects('secrets').delete('lantern-dup1');
    await expect(backend.start(launch('dup1', 'cpu.xsmall'))).rejects.toThrow(
      'Kubernetes refused instance dup1 (cpu.xsmall): HTTP 409: networkpolicies "lantern-dup1" already exists',
    );
    expect(api.objects('secrets').has('lantern-dup1')).toBe(false);
    await backend.stop(first);

    const stranger = new KubernetesComputeBackend({
      ...PLACEMENT,
      kubeConfig: api.kubeConfig('wrong'),
    });
    const check = await stranger.check();
    expect(check).toEqual({
      ok: false,
      detail: `cannot list Pods in namespace ${NAMESPACE}: HTTP 401: unauthorized (check the kubeconfig or the service account)`,
    });
    expect(await backend.check()).toEqual({
      ok: true,
      detail: `Kubernetes Pods in namespace ${NAMESPACE} at ${api.url}`,
    });
    api.failWith(403);
    try {
      await expect(backend.start(launch('deny1', 'cpu.xsmall'))).rejects.toThrow(KubernetesError);
      await expect(
        backend.poll({ kind: 'kubernetes', ref: 'lantern-deny1', details: {} }),
      ).rejects.toThrow('cannot read Pod lantern-deny1: HTTP 403: the test cluster answers 403');
    } finally {
      api.failWith(null);
    }
  });
});
