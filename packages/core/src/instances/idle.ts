/**
 * Idle culling (issue 8): when a running instance that nobody uses is stopped, decided here without
 * I/O so that every backend and every replica decides alike. The server gathers what it knows of
 * the instance (the latest activity seen by Lantern's proxy and by Jupyter itself, each kernel's
 * execution state, when it warned) and asks `decideIdle`.
 *
 * The rules, from researchers' complaints about JupyterHub's culler:
 * - a busy kernel is activity: an instance is never stopped while any kernel runs a cell, however
 *   long ago anyone typed (a training loop of ten hours is work, not idleness);
 * - only Jupyter's `idle` and `busy` settle whether a kernel runs a cell. Jupyter learns a
 *   kernel's state from the `status` messages it sees on the kernel's iopub, and misses those
 *   published before it connected (jupyter_server 1.23 connects as the kernel starts): a cell sent
 *   at once runs while Jupyter still says `starting`. A kernel in any other state is asked itself
 *   (by the server, `kernelsToAsk`), and counts as busy unless it replied: never stopped on doubt.
 *   A kernel found silent stays in doubt until it replies, whatever Jupyter says meanwhile: a
 *   websocket opened to a busy kernel (the question's own, or a browser reconnecting) makes
 *   jupyter_server 1.23 send a `kernel_info_request` on the control channel, which the kernel
 *   answers mid-cell, and the status messages around that answer make Jupyter record `idle`;
 * - a warning comes first: at `idle − warning` of idleness the instance is warned, and it stops
 *   only once it has been idle for `idle` AND the warning has stood for `warning`, so that a
 *   warning given late (the server was down) still gives the whole notice;
 * - any activity after the warning withdraws it.
 */

/** How long an instance may sit idle. `idleMs` 0 turns culling off. */
export interface IdlePolicy {
  /** Idle this long: stopped (after the warning). 0: never. */
  idleMs: number;
  /** Warned this long before the stop; 0: stopped without a warning. Less than `idleMs`. */
  warningMs: number;
}

/** What the server knows of a running instance when it asks. */
export interface IdleObservation {
  /** The latest activity anyone saw (proxy traffic, Jupyter's API, kernels), or its start. */
  lastActivityAt: Date;
  /** Each kernel: the state Jupyter reports, and what it answered if it was asked. */
  kernels: readonly KernelObservation[];
  /** When it was warned, or null. A warning older than the last activity no longer stands. */
  warnedAt: Date | null;
  now: Date;
}

export type IdleDecision =
  /** Nothing to do; `busy` when a kernel is running a cell (which counts as activity now). */
  | { action: 'keep'; busy: boolean }
  /** Warn that it stops at `stopAt` unless used. */
  | { action: 'warn'; stopAt: Date }
  /** Stop it: idle for `idleMinutes` whole minutes, warned long enough. */
  | { action: 'cull'; idleMinutes: number };

/**
 * What a kernel said when the server asked it directly: a `kernel_info_request` on its shell
 * channel, which a kernel answers only between cells (Jupyter messaging 5.x). `replied` within the
 * bound: it runs nothing. `silent`: no reply within the bound, the request waits behind a cell.
 * `unreachable`: the question could not be put (refused, the connection failed or closed).
 */
export type KernelAnswer = 'replied' | 'silent' | 'unreachable';

/** One kernel as the server found it. */
export interface KernelObservation {
  /** `execution_state` as Jupyter reports it (`idle`, `busy`, `starting` …; `unknown` if none). */
  executionState: string;
  /** Its answer when it was asked (`kernelsToAsk`); null when it was not. */
  answer: KernelAnswer | null;
}

/** The states that mean a cell is running, and that none is (`status` on iopub). */
const BUSY = 'busy';
const IDLE = 'idle';

/**
 * The kernels to ask before deciding: those whose state settles nothing (neither `idle` nor
 * `busy`), and those `doubted` (silent or unreachable when last asked, by id) even if Jupyter now
 * says `idle`; none when a kernel is busy already (the instance is kept whatever others say).
 */
export function kernelsToAsk<TKernel extends { id: string; executionState: string }>(
  kernels: readonly TKernel[],
  doubted: ReadonlySet<string> = new Set(),
): TKernel[] {
  if (kernels.some((kernel) => kernel.executionState === BUSY)) {
    return [];
  }
  return kernels.filter((kernel) => kernel.executionState !== IDLE || doubted.has(kernel.id));
}

/**
 * Whether a kernel may be running a cell: Jupyter says `busy`; or it was asked and did not reply
 * (silent or unreachable), whatever else Jupyter says; or Jupyter says neither `idle` nor `busy`
 * and it was not asked: deny by default.
 */
export function isKernelBusy(kernel: KernelObservation): boolean {
  if (kernel.executionState === BUSY) {
    return true;
  }
  if (kernel.answer !== null) {
    return kernel.answer !== 'replied';
  }
  return kernel.executionState !== IDLE;
}

/** Whether any kernel may be running a cell. */
export function hasBusyKernel(kernels: readonly KernelObservation[]): boolean {
  return kernels.some(isKernelBusy);
}

/** The latest of some instants, ignoring the unknown ones; null when none is known. */
export function latestActivity(instants: readonly (Date | null | undefined)[]): Date | null {
  let latest: Date | null = null;
  for (const instant of instants) {
    if (instant !== null && instant !== undefined && !Number.isNaN(instant.getTime())) {
      if (latest === null || instant.getTime() > latest.getTime()) {
        latest = instant;
      }
    }
  }
  return latest;
}

/** Whether a warning given at `warnedAt` still stands after activity at `lastActivityAt`. */
export function isWarningStanding(warnedAt: Date | null, lastActivityAt: Date): boolean {
  return warnedAt !== null && warnedAt.getTime() >= lastActivityAt.getTime();
}

/**
 * When a warned instance will be stopped unless used: idle for the whole `idleMs`, and warned for
 * the whole `warningMs`, whichever is later. Null when culling is off or no warning stands.
 */
export function idleStopAt(
  lastActivityAt: Date,
  warnedAt: Date | null,
  policy: IdlePolicy,
): Date | null {
  if (policy.idleMs <= 0 || warnedAt === null || !isWarningStanding(warnedAt, lastActivityAt)) {
    return null;
  }
  return new Date(
    Math.max(lastActivityAt.getTime() + policy.idleMs, warnedAt.getTime() + policy.warningMs),
  );
}

/** Keep, warn or cull a running instance (see the module's rules). */
export function decideIdle(observation: IdleObservation, policy: IdlePolicy): IdleDecision {
  if (policy.idleMs <= 0) {
    return { action: 'keep', busy: false };
  }
  if (hasBusyKernel(observation.kernels)) {
    return { action: 'keep', busy: true };
  }
  const { lastActivityAt, warnedAt, now } = observation;
  const idleMs = now.getTime() - lastActivityAt.getTime();
  const idleMinutes = Math.floor(idleMs / 60_000);
  const stopAt = idleStopAt(lastActivityAt, warnedAt, policy);
  if (stopAt !== null) {
    return now.getTime() >= stopAt.getTime()
      ? { action: 'cull', idleMinutes }
      : { action: 'keep', busy: false };
  }
  if (policy.warningMs <= 0) {
    return idleMs >= policy.idleMs
      ? { action: 'cull', idleMinutes }
      : { action: 'keep', busy: false };
  }
  if (idleMs >= policy.idleMs - policy.warningMs) {
    return {
      action: 'warn',
      stopAt: new Date(
        Math.max(lastActivityAt.getTime() + policy.idleMs, now.getTime() + policy.warningMs),
      ),
    };
  }
  return { action: 'keep', busy: false };
}
