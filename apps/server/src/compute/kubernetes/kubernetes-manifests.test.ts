import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { golden, launch, PLACEMENT } from './kubernetes-fixtures.js';
import {
  KubernetesSpecError,
  networkPolicyManifest,
  objectName,
  podManifest,
  secretManifest,
} from './kubernetes-manifests.js';

// The fields the Kubernetes API requires of what this backend sends, and the rules Lantern adds
// (read-only datasets, no egress, resources set): a manifest missing one fails here by name.
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u);
const labels = z.record(
  z.string(),
  z
    .string()
    .max(63)
    .regex(/^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]?$/u),
);
const quantity = z.string().regex(/^\d+(Mi|Gi)?$/u);
const metadata = z.object({ name: dnsLabel, namespace: dnsLabel, labels });
const podSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Pod'),
  metadata,
  spec: z.object({
    restartPolicy: z.literal('Never'),
    automountServiceAccountToken: z.literal(false),
    securityContext: z.object({ runAsNonRoot: z.literal(true), runAsUser: z.number().int() }),
    containers: z
      .array(
        z.object({
          name: dnsLabel,
          image: z.string().min(1),
          resources: z.object({
            requests: z.record(z.string(), quantity),
            limits: z.record(z.string(), quantity),
          }),
          securityContext: z.object({ allowPrivilegeEscalation: z.literal(false) }),
          volumeMounts: z.array(
            z.object({
              name: dnsLabel,
              mountPath: z.string().startsWith('/'),
              subPath: z
                .string()
                .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'))
                .optional(),
              readOnly: z.boolean().optional(),
            }),
          ),
        }),
      )
      .length(1),
    volumes: z.array(z.object({ name: dnsLabel })),
  }),
});
const networkPolicySchema = z.object({
  apiVersion: z.literal('networking.k8s.io/v1'),
  kind: z.literal('NetworkPolicy'),
  metadata,
  spec: z.object({
    podSelector: z.object({ matchLabels: labels }),
    policyTypes: z.tuple([z.literal('Ingress'), z.literal('Egress')]),
    // At most one way out: TCP to the server's Pods (ngsci), never an address block or DNS.
    egress: z
      .array(
        z
          .object({
            to: z.tuple([z.object({ podSelector: z.object({ matchLabels: labels }) }).strict()]),
            ports: z.tuple([
              z.object({ protocol: z.literal('TCP'), port: z.number().int() }).strict(),
            ]),
          })
          .strict(),
      )
      .max(1),
  }),
});

describe('Kubernetes manifests', () => {
  const cases = [
    ['cpu7f3a', 'cpu.xsmall'],
    ['gpu2b9c', 'gpu.a100'],
  ] as const;

  for (const [id, type] of cases) {
    it(`are the golden files for a ${type} instance`, async () => {
      const spec = launch(id, type);
      expect(podManifest(spec, PLACEMENT)).toEqual(await golden(`${id}-pod.json`));
      expect(secretManifest(spec, PLACEMENT)).toEqual(await golden(`${id}-secret.json`));
      // The client's model calls `from` `_from` (a reserved word); the wire has `from`.
      const policy = networkPolicyManifest(spec, PLACEMENT);
      const wire = JSON.parse(JSON.stringify(policy).replaceAll('"_from":', '"from":')) as unknown;
      expect(wire).toEqual(await golden(`${id}-networkpolicy.json`));
    });

    it(`have the fields the API requires and the limits Lantern sets (${type})`, () => {
      const spec = launch(id, type);
      const pod = podSchema.parse(podManifest(spec, PLACEMENT));
      networkPolicySchema.parse(networkPolicyManifest(spec, PLACEMENT));
      const [container] = pod.spec.containers;
      const mounts = container?.volumeMounts ?? [];
      // Every mount names a volume the Pod has; every dataset is read-only.
      const volumes = new Set(pod.spec.volumes.map((v) => v.name));
      expect(mounts.every((m) => volumes.has(m.name))).toBe(true);
      const datasets = mounts.filter((m) => m.mountPath.startsWith('/home/ngsci/datasets/'));
      expect(datasets.map((m) => [m.mountPath, m.readOnly])).toEqual([
        ['/home/ngsci/datasets/arrest-ntuh-ecg/1.0', true],
        ['/home/ngsci/datasets/brca-psj-path/2.1', true],
      ]);
      expect(pod.metadata.labels['lantern.dev/instance-id']).toBe(id);
      const gpus = container?.resources.limits['nvidia.com/gpu'];
      expect(gpus).toBe(type === 'gpu.a100' ? '1' : undefined);
      // The tokens are only in the Secret.
      expect(JSON.stringify(pod)).not.toContain(spec.token);
      expect(JSON.stringify(pod)).not.toContain(spec.platformToken);
    });
  }

  it('let a Pod reach only the server, and only when the platform URL is set', () => {
    const spec = launch('abc', 'cpu.small');
    const env = (placement: typeof PLACEMENT) =>
      podManifest(spec, placement).spec?.containers[0]?.env?.map((v) => v.name) ?? [];
    expect(env(PLACEMENT)).toContain('LANTERN_PLATFORM_URL');
    expect(networkPolicyManifest(spec, PLACEMENT).spec?.egress).toEqual([
      {
        to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'lantern-server' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
    const closed = { ...PLACEMENT, platform: null };
    expect(env(closed)).not.toContain('LANTERN_PLATFORM_URL');
    expect(networkPolicyManifest(spec, closed).spec?.egress).toEqual([]);
  });

  it('refuse a path outside its claim and an id that cannot name an object', () => {
    const spec = launch('abc', 'cpu.small');
    expect(() => podManifest({ ...spec, homePath: '/etc' }, PLACEMENT)).toThrow(
      KubernetesSpecError,
    );
    expect(() => podManifest({ ...spec, projectPath: '/srv/lantern/projects' }, PLACEMENT)).toThrow(
      /not inside \/srv\/lantern\/projects/u,
    );
    expect(() =>
      podManifest(
        {
          ...spec,
          datasets: [{ slug: 'x-y', version: '1.0', hostPath: '/srv/lantern/views/../homes/usr3' }],
        },
        PLACEMENT,
      ),
    ).toThrow(/lantern-datasets/u);
    expect(objectName('Ab12')).toBe('lantern-ab12');
    expect(() => objectName('inst_1')).toThrow(KubernetesSpecError);
    expect(() => objectName('x'.repeat(60))).toThrow(/cannot name a Kubernetes object/u);
  });
});
