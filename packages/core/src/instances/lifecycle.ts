/**
 * The one state machine of an instance (issue 8), whatever runs it (local, Slurm, Kubernetes):
 *
 *   requested -> starting -> running -> stopping -> stopped
 *        \__________\___________\___________\______-> failed (with a reason)
 *
 * A stopped or failed instance may be started again (restart: back to requested). The server moves
 * an instance only through `nextState`, so an impossible move (stopping a stopped instance,
 * running one that was never started) is refused in one place with one message.
 */
export const INSTANCE_STATES = [
  'requested',
  'starting',
  'running',
  'stopping',
  'stopped',
  'failed',
] as const;

export type InstanceState = (typeof INSTANCE_STATES)[number];

/** What moves an instance. */
export type InstanceEvent =
  | 'start' // the backend accepted the launch
  | 'ready' // the notebook answers
  | 'stop' // someone (or the culler) asked it to stop
  | 'stopped' // the backend says it is gone
  | 'fail' // it could not start, or it died
  | 'restart'; // a stopped or failed instance is requested again

const MOVES: Readonly<Record<InstanceState, Partial<Record<InstanceEvent, InstanceState>>>> = {
  requested: { start: 'starting', stop: 'stopped', fail: 'failed' },
  starting: { ready: 'running', stop: 'stopping', stopped: 'stopped', fail: 'failed' },
  running: { stop: 'stopping', stopped: 'stopped', fail: 'failed' },
  stopping: { stopped: 'stopped', fail: 'failed' },
  stopped: { restart: 'requested' },
  failed: { restart: 'requested', stopped: 'failed' },
};

/** Thrown for a move the state machine does not have. */
export class InstanceStateError extends Error {
  readonly from: InstanceState;
  readonly event: InstanceEvent;

  constructor(from: InstanceState, event: InstanceEvent) {
    super(
      `an instance that is ${from} cannot ${event === 'stopped' ? 'be marked stopped' : event}`,
    );
    this.name = 'InstanceStateError';
    this.from = from;
    this.event = event;
  }
}

/** The state `event` moves an instance in state `from` to; throws InstanceStateError if none. */
export function nextState(from: InstanceState, event: InstanceEvent): InstanceState {
  const to = MOVES[from][event];
  if (to === undefined) {
    throw new InstanceStateError(from, event);
  }
  return to;
}

/** Whether an instance in this state holds (or may soon hold) resources: it counts against quotas. */
export function isActive(state: InstanceState): boolean {
  return (
    state === 'requested' || state === 'starting' || state === 'running' || state === 'stopping'
  );
}
