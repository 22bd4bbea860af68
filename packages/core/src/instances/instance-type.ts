/**
 * Instance types (issue 8): the sizes a notebook instance comes in, from the free `cpu.xsmall` to
 * GPU machines paid for by the project. Admins edit the catalogue; this module holds its shape,
 * the checks every entry passes, and the catalogue a new installation starts with.
 */
import { z } from 'zod';

/** `cpu.xsmall`, `gpu.a100`: a family and a size, lower case. */
export const INSTANCE_TYPE_NAME = /^[a-z][a-z0-9]*\.[a-z0-9]+$/u;

export const instanceTypeSchema = z
  .object({
    name: z.string().regex(INSTANCE_TYPE_NAME, 'a family and a size, like cpu.small or gpu.a100'),
    /** Shown to users: "Small CPU (4 vCPU, 16 GiB)". */
    title: z.string().min(1).max(80),
    vcpus: z.number().int().min(1).max(512),
    memoryMib: z
      .number()
      .int()
      .min(256)
      .max(4 * 1024 * 1024),
    /** The GPU model (`T4`, `A10G`, `A100`, `H100`) and how many; null for CPU types. */
    gpu: z
      .object({ model: z.string().min(1).max(40), count: z.number().int().min(1).max(16) })
      .nullable(),
    diskGib: z.number().int().min(1).max(65_536),
    /** Integer cents per hour; 0 is a free type (quotas apply instead of charges). */
    priceCentsPerHour: z.number().int().min(0).max(1_000_000),
  })
  .strict();

export type InstanceType = z.infer<typeof instanceTypeSchema>;

/** A free type costs nothing per hour: quotas limit it instead (one running per user, hours a month). */
export function isFreeType(type: Pick<InstanceType, 'priceCentsPerHour'>): boolean {
  return type.priceCentsPerHour === 0;
}

const GIB = 1024;

/** The catalogue of a new installation (prices as a cloud would charge, in cents per hour). */
export const DEFAULT_INSTANCE_TYPES: readonly InstanceType[] = [
  {
    name: 'cpu.xsmall',
    title: 'Extra small CPU (free)',
    vcpus: 2,
    memoryMib: 4 * GIB,
    gpu: null,
    diskGib: 20,
    priceCentsPerHour: 0,
  },
  {
    name: 'cpu.small',
    title: 'Small CPU',
    vcpus: 4,
    memoryMib: 16 * GIB,
    gpu: null,
    diskGib: 50,
    priceCentsPerHour: 19,
  },
  {
    name: 'cpu.medium',
    title: 'Medium CPU',
    vcpus: 8,
    memoryMib: 32 * GIB,
    gpu: null,
    diskGib: 100,
    priceCentsPerHour: 38,
  },
  {
    name: 'cpu.large',
    title: 'Large CPU',
    vcpus: 16,
    memoryMib: 64 * GIB,
    gpu: null,
    diskGib: 200,
    priceCentsPerHour: 77,
  },
  {
    name: 'gpu.t4',
    title: 'NVIDIA T4',
    vcpus: 4,
    memoryMib: 16 * GIB,
    gpu: { model: 'T4', count: 1 },
    diskGib: 100,
    priceCentsPerHour: 53,
  },
  {
    name: 'gpu.a10g',
    title: 'NVIDIA A10G',
    vcpus: 8,
    memoryMib: 32 * GIB,
    gpu: { model: 'A10G', count: 1 },
    diskGib: 200,
    priceCentsPerHour: 121,
  },
  {
    name: 'gpu.a100',
    title: 'NVIDIA A100',
    vcpus: 12,
    memoryMib: 85 * GIB,
    gpu: { model: 'A100', count: 1 },
    diskGib: 400,
    priceCentsPerHour: 367,
  },
  {
    name: 'gpu.h100',
    title: 'NVIDIA H100',
    vcpus: 26,
    memoryMib: 200 * GIB,
    gpu: { model: 'H100', count: 1 },
    diskGib: 800,
    priceCentsPerHour: 749,
  },
];

/** A catalogue checked whole: every entry valid, names unique, at least one free type. */
export function parseInstanceCatalogue(input: unknown): InstanceType[] {
  const types = z.array(instanceTypeSchema).min(1).parse(input);
  const seen = new Set<string>();
  for (const type of types) {
    if (seen.has(type.name)) {
      throw new z.ZodError([
        {
          code: 'custom',
          path: ['name'],
          message: `${type.name} is listed twice`,
          input: type.name,
        },
      ]);
    }
    seen.add(type.name);
  }
  return types;
}
