/**
 * A local HTTP server speaking the parts of the Kubernetes API the Kubernetes backend uses:
 * create, read and delete Pods, Secrets and NetworkPolicies in a namespace, and list Pods by
 * equality label selector, with Kubernetes' Status bodies for 404, 409 and 401. It keeps objects in
 * memory and records every request; tests play the kubelet with `setPodStatus`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

type KubeObject = {
  metadata?: { name?: string; labels?: Record<string, string> } & Record<string, unknown>;
} & Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export interface FakeKubernetesApi {
  url: string;
  /** A KubeConfig for this server, with `token` as the bearer token. */
  kubeConfig(token?: string): KubeConfig;
  /** Objects by kind (`pods`, `secrets`, `networkpolicies`) and name, as received. */
  objects(kind: Resource): Map<string, KubeObject>;
  requests: RecordedRequest[];
  /** Plays the kubelet: replaces a Pod's status. */
  setPodStatus(name: string, status: Record<string, unknown>): void;
  /** Answers every request after this with this status code (a cluster refusing). */
  failWith(code: number | null): void;
  close(): Promise<void>;
}

type Resource = 'pods' | 'secrets' | 'networkpolicies';
export const TOKEN = 'test-bearer-token';
const ROUTE =
  /^\/(?:api\/v1|apis\/networking\.k8s\.io\/v1)\/namespaces\/([a-z0-9-]+)\/(pods|secrets|networkpolicies)(?:\/([a-z0-9-]+))?$/u;

export async function startFakeKubernetesApi(namespace: string): Promise<FakeKubernetesApi> {
  const store: Record<Resource, Map<string, KubeObject>> = {
    pods: new Map(),
    secrets: new Map(),
    networkpolicies: new Map(),
  };
  const requests: RecordedRequest[] = [];
  let failing: number | null = null;

  const status = (res: ServerResponse, code: number, reason: string, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        code,
      }),
    );
  };
  const send = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    requests.push({
      method: req.method ?? '',
      path: url.pathname + url.search,
      authorization: req.headers.authorization,
      body,
    });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      status(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    if (failing !== null) {
      status(res, failing, 'Forbidden', `the test cluster answers ${failing}`);
      return;
    }
    const match = ROUTE.exec(url.pathname);
    if (match === null || match[1] !== namespace) {
      status(res, 404, 'NotFound', `the fake API has no ${url.pathname}`);
      return;
    }
    const resource = match[2] as Resource;
    const name = match[3];
    const objects = store[resource];
    const singular = resource === 'networkpolicies' ? 'networkpolicies' : resource;
    if (name === undefined && req.method === 'POST') {
      const object = body as KubeObject;
      const newName = object.metadata?.name ?? '';
      if (objects.has(newName)) {
        status(res, 409, 'AlreadyExists', `${singular} "${newName}" already exists`);
        return;
      }
      const stored: KubeObject = {
        ...object,
        metadata: { ...object.metadata, uid: randomUUID(), resourceVersion: '1' },
        ...(resource === 'pods' ? { status: { phase: 'Pending' } } : {}),
      };
      objects.set(newName, stored);
      send(res, 201, stored);
      return;
    }
    if (name === undefined && req.method === 'GET') {
      const selector = url.searchParams.get('labelSelector');
      const wanted = (selector ?? '')
        .split(',')
        .filter((term) => term !== '')
        .map((term) => term.split('=') as [string, string]);
      const items = [...objects.values()].filter((object) =>
        wanted.every(([key, value]) => object.metadata?.labels?.[key] === value),
      );
      const limit = Number(url.searchParams.get('limit') ?? '0');
      send(res, 200, {
        kind: resource === 'pods' ? 'PodList' : 'List',
        apiVersion: 'v1',
        metadata: { resourceVersion: '1' },
        items: limit > 0 ? items.slice(0, limit) : items,
      });
      return;
    }
    const existing = name === undefined ? undefined : objects.get(name);
    if (name === undefined || existing === undefined) {
      status(res, 404, 'NotFound', `${singular} "${name ?? ''}" not found`);
      return;
    }
    if (req.method === 'GET') {
      send(res, 200, existing);
    } else if (req.method === 'DELETE') {
      objects.delete(name);
      send(res, 200, existing);
    } else {
      status(res, 405, 'MethodNotAllowed', `${req.method ?? ''} is not supported here`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      status(res, 500, 'InternalError', String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kubeConfig(token = TOKEN) {
      const config = new KubeConfig();
      config.loadFromOptions({
        clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
        users: [{ name: 'lantern', token }],
        contexts: [{ name: 'test', cluster: 'test', user: 'lantern', namespace }],
        currentContext: 'test',
      });
      return config;
    },
    objects: (kind) => store[kind],
    requests,
    setPodStatus(name, podStatus) {
      const pod = store.pods.get(name);
      if (pod === undefined) {
        throw new Error(`no Pod ${name}`);
      }
      store.pods.set(name, { ...pod, status: podStatus });
    },
    failWith(code) {
      failing = code;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
