/**
 * What a notebook server says of its own use, for the idle culler (issue 8): Jupyter's
 * `api/status` (`last_activity`: the latest of its API requests, kernel messages and terminals)
 * and `api/kernels` (each kernel's `execution_state` and `last_activity`). Both asked with the
 * instance's token and `no_track_activity`, so that asking is not itself activity (jupyter_server's
 * APIHandler.update_api_activity; `api/status` never counts).
 *
 * A kernel running a long cell sends nothing on iopub, so its `last_activity` grows old while it
 * works: its `execution_state` (`busy`) is what says it is in use.
 */
import { z } from 'zod';
import type { NotebookEndpoint } from './compute-backend.js';
import { requestNotebook } from './notebook-probe.js';

export interface KernelActivity {
  id: string;
  /** `idle`, `busy`, `starting` … as Jupyter reports it. */
  executionState: string;
  lastActivity: Date | null;
}

export interface NotebookActivity {
  /** The server's own latest activity (null when it did not say). */
  lastActivity: Date | null;
  kernels: KernelActivity[];
}

/** Thrown when the notebook does not answer, or answers something that is not Jupyter's API. */
export class NotebookActivityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookActivityError';
  }
}

const statusSchema = z.object({ last_activity: z.string().nullish() }).loose();
const kernelsSchema = z.array(
  z
    .object({
      id: z.string(),
      execution_state: z.string().nullish(),
      last_activity: z.string().nullish(),
    })
    .loose(),
);

/** Asks the notebook at `endpoint` (served under `baseUrl`) how it has been used. */
export async function readNotebookActivity(
  endpoint: NotebookEndpoint,
  baseUrl: string,
  token: string,
  timeoutMs = 5_000,
): Promise<NotebookActivity> {
  const status = await getJson(endpoint, `${baseUrl}api/status`, token, timeoutMs, statusSchema);
  const kernels = await getJson(
    endpoint,
    `${baseUrl}api/kernels?no_track_activity=1`,
    token,
    timeoutMs,
    kernelsSchema,
  );
  return {
    lastActivity: parseInstant(status.last_activity),
    kernels: kernels.map((kernel) => ({
      id: kernel.id,
      executionState: kernel.execution_state ?? 'unknown',
      lastActivity: parseInstant(kernel.last_activity),
    })),
  };
}

async function getJson<TAnswer>(
  endpoint: NotebookEndpoint,
  path: string,
  token: string,
  timeoutMs: number,
  schema: z.ZodType<TAnswer>,
): Promise<TAnswer> {
  let answer;
  try {
    answer = await requestNotebook(endpoint, 'GET', path, {
      headers: { authorization: `token ${token}` },
      timeoutMs,
    });
  } catch (error) {
    throw new NotebookActivityError(
      `the notebook did not answer ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (answer.status !== 200) {
    throw new NotebookActivityError(`the notebook answered ${path} with ${answer.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    throw new NotebookActivityError(`the notebook's answer to ${path} is not JSON`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new NotebookActivityError(
      `the notebook's answer to ${path} is not Jupyter's: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  return parsed.data;
}

/** Jupyter's ISO 8601 instants (`2030-03-01T12:00:00.123456Z`); null when absent or unreadable. */
function parseInstant(text: string | null | undefined): Date | null {
  if (text === null || text === undefined) {
    return null;
  }
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : new Date(time);
}
