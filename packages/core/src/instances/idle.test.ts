import { describe, expect, it } from 'vitest';
import {
  decideIdle,
  hasBusyKernel,
  idleStopAt,
  isKernelBusy,
  kernelsToAsk,
  latestActivity,
  type IdleObservation,
  type KernelAnswer,
  type KernelObservation,
  type IdlePolicy,
} from './idle.js';

const MINUTE = 60_000;
const POLICY: IdlePolicy = { idleMs: 60 * MINUTE, warningMs: 10 * MINUTE };
const T0 = new Date('2030-03-01T12:00:00.000Z');

/** `minutes` after T0. */
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE);

/** A kernel in `executionState`, with its answer when asked. */
const kernel = (executionState: string, answer: KernelAnswer | null = null): KernelObservation => ({
  executionState,
  answer,
});

function observe(overrides: Partial<IdleObservation>): IdleObservation {
  return { lastActivityAt: T0, kernels: [kernel('idle')], warnedAt: null, now: T0, ...overrides };
}

describe('idle culling decisions', () => {
  it('keeps an instance used recently, warns at idle − warning, and says when it will stop', () => {
    expect(decideIdle(observe({ now: at(49) }), POLICY)).toEqual({ action: 'keep', busy: false });
    expect(decideIdle(observe({ now: at(50) }), POLICY)).toEqual({
      action: 'warn',
      stopAt: at(60),
    });
    // No kernel at all is as idle as idle kernels; warned late, it still gets the whole notice.
    expect(decideIdle(observe({ now: at(55), kernels: [] }), POLICY)).toEqual({
      action: 'warn',
      stopAt: at(65),
    });
  });

  it('culls a warned instance once idle for the whole time, naming the minutes', () => {
    const warned = observe({ warnedAt: at(50) });
    expect(decideIdle({ ...warned, now: at(59) }, POLICY)).toEqual({
      action: 'keep',
      busy: false,
    });
    expect(decideIdle({ ...warned, now: at(60) }, POLICY)).toEqual({
      action: 'cull',
      idleMinutes: 60,
    });
    expect(decideIdle({ ...warned, now: at(75.5) }, POLICY)).toEqual({
      action: 'cull',
      idleMinutes: 75,
    });
  });

  it('never culls or warns while a kernel is busy, however long ago anything else happened', () => {
    for (const warnedAt of [null, at(50)]) {
      expect(
        decideIdle(
          observe({ kernels: [kernel('idle'), kernel('busy')], warnedAt, now: at(600) }),
          POLICY,
        ),
      ).toEqual({ action: 'keep', busy: true });
    }
    expect(hasBusyKernel([kernel('starting', 'replied'), kernel('idle')])).toBe(false);
    expect(hasBusyKernel([kernel('idle'), kernel('busy')])).toBe(true);
  });

  it('counts a kernel Jupyter calls neither idle nor busy as busy unless it replied when asked', () => {
    // Jupyter missed the kernel's `busy` (it connects to iopub as the kernel starts): `starting`
    // while a cell runs. Asked, such a kernel is silent; an idle one replies.
    for (const state of ['starting', 'unknown', 'restarting', '']) {
      expect(isKernelBusy(kernel(state, 'replied'))).toBe(false);
      for (const answer of ['silent', 'unreachable', null] as const) {
        expect(isKernelBusy(kernel(state, answer))).toBe(true);
      }
    }
    // Jupyter's `busy` settles it; its `idle` does not outweigh a kernel that did not reply (a
    // websocket opened mid-cell makes Jupyter record `idle`), and stands when it was not asked.
    expect(isKernelBusy(kernel('idle', 'silent'))).toBe(true);
    expect(isKernelBusy(kernel('idle', 'unreachable'))).toBe(true);
    expect(isKernelBusy(kernel('idle', 'replied'))).toBe(false);
    expect(isKernelBusy(kernel('idle'))).toBe(false);
    expect(isKernelBusy(kernel('busy', 'replied'))).toBe(true);
    const silent = observe({
      kernels: [kernel('idle'), kernel('starting', 'silent')],
      now: at(600),
    });
    expect(decideIdle({ ...silent, warnedAt: at(590) }, POLICY)).toEqual({
      action: 'keep',
      busy: true,
    });
    const replied = observe({ kernels: [kernel('starting', 'replied')], now: at(600) });
    expect(decideIdle({ ...replied, warnedAt: at(590) }, POLICY)).toEqual({
      action: 'cull',
      idleMinutes: 600,
    });
  });

  it('asks only kernels whose state settles nothing, and none once one is busy', () => {
    const idle = { id: 'a', executionState: 'idle' };
    const starting = { id: 'b', executionState: 'starting' };
    const unknown = { id: 'c', executionState: 'unknown' };
    expect(kernelsToAsk([idle, starting, unknown])).toEqual([starting, unknown]);
    expect(kernelsToAsk([idle, { id: 'd', executionState: 'idle' }])).toEqual([]);
    expect(kernelsToAsk([starting, { id: 'e', executionState: 'busy' }])).toEqual([]);
    // A kernel silent when last asked is asked again though Jupyter now says `idle`.
    expect(kernelsToAsk([idle, starting], new Set([idle.id]))).toEqual([idle, starting]);
    expect(kernelsToAsk([idle, { id: 'e', executionState: 'busy' }], new Set([idle.id]))).toEqual(
      [],
    );
  });

  it('gives the whole warning when it is given late, and never culls without one first', () => {
    // The server was down across the warning time: idle 90 minutes, not warned yet.
    expect(decideIdle(observe({ now: at(90) }), POLICY)).toEqual({
      action: 'warn',
      stopAt: at(100),
    });
    const late = observe({ warnedAt: at(90) });
    expect(decideIdle({ ...late, now: at(99) }, POLICY).action).toBe('keep');
    expect(decideIdle({ ...late, now: at(100) }, POLICY)).toEqual({
      action: 'cull',
      idleMinutes: 100,
    });
  });

  it('withdraws a warning once there is activity after it', () => {
    // Warned at 50, used at 55: the warning no longer stands, and the clock starts again.
    const used = observe({ lastActivityAt: at(55), warnedAt: at(50) });
    expect(decideIdle({ ...used, now: at(70) }, POLICY)).toEqual({ action: 'keep', busy: false });
    expect(idleStopAt(at(55), at(50), POLICY)).toBeNull();
    expect(decideIdle({ ...used, now: at(105) }, POLICY)).toEqual({
      action: 'warn',
      stopAt: at(115),
    });
  });

  it('does nothing when culling is off, and culls without a warning when the warning is 0', () => {
    const off: IdlePolicy = { idleMs: 0, warningMs: 10 * MINUTE };
    expect(decideIdle(observe({ now: at(10_000) }), off)).toEqual({ action: 'keep', busy: false });
    expect(idleStopAt(T0, at(50), off)).toBeNull();
    const unwarned: IdlePolicy = { idleMs: 60 * MINUTE, warningMs: 0 };
    expect(decideIdle(observe({ now: at(59) }), unwarned).action).toBe('keep');
    expect(decideIdle(observe({ now: at(60) }), unwarned)).toEqual({
      action: 'cull',
      idleMinutes: 60,
    });
  });

  it('takes the latest of the instants it knows, ignoring unknown and invalid ones', () => {
    expect(latestActivity([null, at(3), undefined, at(7), new Date(Number.NaN), at(5)])).toEqual(
      at(7),
    );
    expect(latestActivity([null, undefined])).toBeNull();
    expect(idleStopAt(T0, at(50), POLICY)).toEqual(at(60));
    expect(idleStopAt(T0, at(55), POLICY)).toEqual(at(65));
  });
});
