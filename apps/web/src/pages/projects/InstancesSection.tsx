import { ApiError, type Instance, type InstanceTypeEntry, type Project } from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { asSentence, useSession } from '../../session.js';
import { problemOf } from '../catalog/catalog-text.js';
import { when } from './project-text.js';

/**
 * The project page's notebook instances (issue 8): the project's instances with their state and
 * progress, a launch form (a type from the catalogue, the project's datasets and versions to
 * mount), "Open notebook" for a running one (through the server's proxy, in a new tab), stop and
 * restart, and the idle culler's warning ("Idle: stops at 14:05 unless used"). The server's
 * refusals (the free quota's 429, a paid type's 403) show as it says them, the server's limit on
 * starts worded as its being busy rather than as the person's quota; a 429's Retry-After
 * counts down beside it, and a button tries the same again once it has passed. The list is read
 * again while an instance is on its way up or down, and each minute while one runs.
 */

/** How often the list is read while an instance is requested, starting or stopping. */
const POLL_MS = 1_500;
/** How often it is read while one runs, so that an idle warning (or its stop) shows. */
const RUNNING_POLL_MS = 60_000;

/** States that change by themselves: the page keeps reading the list while one is shown. */
const MOVING: readonly Instance['state'][] = ['requested', 'starting', 'stopping'];

/** A state in words for the project's members. */
export const STATE_WORDS: Readonly<Record<Instance['state'], string>> = {
  requested: 'Requested: waiting to start',
  starting: 'Starting',
  running: 'Running',
  stopping: 'Stopping',
  stopped: 'Stopped',
  failed: 'Failed',
};

/**
 * The idle culler's warning for a running instance, "Idle: stops at 14:05 unless used" (the day
 * too when it is not today); null when no warning stands.
 */
export function idleWords(instance: Instance, today = new Date()): string | null {
  if (instance.state !== 'running' || instance.idleStopAt === null) {
    return null;
  }
  const stopAt = new Date(instance.idleStopAt);
  const time = stopAt.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const day =
    stopAt.toDateString() === today.toDateString() ? '' : ` on ${stopAt.toLocaleDateString()}`;
  return `Idle: stops at ${time}${day} unless used`;
}

/** "$0.19 an hour", or "free" for a free type. */
export function priceWords(cents: number): string {
  return cents === 0 ? 'free' : `$${(cents / 100).toFixed(2)} an hour`;
}

/** "Small CPU: 4 vCPU, 16 GiB, $0.19 an hour", "NVIDIA T4: 4 vCPU, 16 GiB, 1 × T4 GPU, …". */
export function typeWords(type: InstanceTypeEntry): string {
  const memory = `${Math.round((type.memoryMib / 1024) * 10) / 10} GiB`;
  const gpu = type.gpu === null ? [] : [`${type.gpu.count} × ${type.gpu.model} GPU`];
  return [`${type.vcpus} vCPU`, memory, ...gpu, priceWords(type.priceCentsPerHour)].join(', ');
}

/** When (`Date.now()` milliseconds) a refused action may be tried again, and how. */
interface RetryLaterProps {
  at: number;
  /** `launch`, `restart`: what the button tries again. */
  what: string;
  again: () => void;
}

/** What the last action said: done (a status) or refused (an alert, with Retry-After's retry). */
type Message = { text: string; bad: boolean; retry?: RetryLaterProps } | null;

/** Seconds from now until `at` (ms since the epoch), 0 once it has passed. */
const secondsUntil = (at: number) => Math.max(0, Math.ceil((at - Date.now()) / 1000));

/** Seconds until `at`, counted down each second. */
function useSecondsUntil(at: number): number {
  const [seconds, setSeconds] = useState(() => secondsUntil(at));
  useEffect(() => {
    setSeconds(secondsUntil(at));
    const timer = window.setInterval(() => {
      const left = secondsUntil(at);
      setSeconds(left);
      if (left === 0) {
        window.clearInterval(timer);
      }
    }, 1_000);
    return () => window.clearInterval(timer);
  }, [at]);
  return seconds;
}

/** A button that tries the same again, counting down the server's Retry-After until it may. */
function RetryLater({ retry, busy }: { retry: RetryLaterProps; busy: boolean }) {
  const seconds = useSecondsUntil(retry.at);
  return (
    <>
      {' '}
      <button
        type="button"
        disabled={busy || seconds > 0}
        onClick={retry.again}
        data-testid="instances-retry"
      >
        {seconds > 0
          ? `Try the ${retry.what} again in ${seconds} s`
          : `Try the ${retry.what} again`}
      </button>
    </>
  );
}

/**
 * The server's refusal as a sentence. A 429 is about now, not for ever, and says whose it is: the
 * free quota's (`free_instance_quota`) is about the person's own free instance, the limit on
 * starts (`too_many_starts`) about the server being busy with others'. Not capitalised after the
 * lead: a refusal often begins with a type's name (`gpu.t4 is a paid type`).
 */
function refusalWords(caught: unknown): string {
  return `${refusalLead(caught)}: ${problemOf(caught)}.`;
}

function refusalLead(caught: unknown): string {
  if (!(caught instanceof ApiError)) {
    return 'Refused';
  }
  if (caught.code === 'too_many_starts') {
    return 'The server is busy starting other instances';
  }
  // The free quota (`free_instance_quota`) and any other 429 are about now.
  return caught.status === 429 ? 'Not now' : 'Refused';
}

/** The project's instances and the types, read once and again while any is moving. */
function useInstances(projectId: string, onInstances?: (instances: Instance[]) => void) {
  const [instances, setInstances] = useState<Instance[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [reads, setReads] = useState(0);
  const reread = useCallback(() => setReads((n) => n + 1), []);

  useEffect(() => {
    let live = true;
    api.listProjectInstances(projectId).then(
      (found) => {
        if (live) {
          setInstances(found);
          setProblem(null);
          onInstances?.(found);
        }
      },
      (caught: unknown) => live && setProblem(problemOf(caught)),
    );
    return () => {
      live = false;
    };
  }, [projectId, reads, onInstances]);

  const moving = instances?.some((i) => MOVING.includes(i.state)) ?? false;
  const running = instances?.some((i) => i.state === 'running') ?? false;
  useEffect(() => {
    if (!moving && !running) {
      return;
    }
    const timer = window.setTimeout(reread, moving ? POLL_MS : RUNNING_POLL_MS);
    return () => window.clearTimeout(timer);
  }, [moving, running, instances, reread]);

  return { instances, problem, reread };
}

/** One instance: type, who launched it, state (and progress or the failure), started, actions. */
function InstanceRow({
  instance,
  types,
  project,
  me,
  busy,
  onStop,
  onRestart,
}: {
  instance: Instance;
  types: InstanceTypeEntry[];
  project: Project;
  me: string | undefined;
  busy: boolean;
  onStop: (instance: Instance) => void;
  onRestart: (instance: Instance) => void;
}) {
  const type = types.find((t) => t.name === instance.type);
  const who =
    instance.userId === me
      ? 'you'
      : (project.members.find((m) => m.userId === instance.userId)?.name ?? 'a former member');
  const launches = project.may.includes('project.launch_instance');
  const moving = MOVING.includes(instance.state);
  const idle = idleWords(instance);
  return (
    <tr data-testid={`instance-${instance.id}`}>
      <th scope="row">
        {type?.title ?? instance.type} <span className="muted">({instance.type})</span>
      </th>
      <td>{who}</td>
      <td>
        <span data-testid="instance-state">{STATE_WORDS[instance.state]}</span>
        {moving && (
          <>
            {' '}
            <progress aria-label={`${instance.type} is ${instance.state}`} />
          </>
        )}
        {idle !== null && (
          <div className="warn" role="status" data-testid="instance-idle">
            {idle}: open the notebook or run a cell to keep it.
          </div>
        )}
        {instance.failureReason !== null && (
          <span className="bad" data-testid="instance-failure">
            {' '}
            — {instance.failureReason}
          </span>
        )}
        {instance.datasets.length > 0 && (
          <div className="muted">
            Mounted: {instance.datasets.map((d) => `${d.slug} ${d.version}`).join(', ')}
          </div>
        )}
      </td>
      <td>
        {instance.startedAt === null ? (
          <span className="muted">not yet</span>
        ) : (
          <time dateTime={instance.startedAt}>{when(instance.startedAt)}</time>
        )}
      </td>
      <td className="member-actions">
        {instance.state === 'running' && (
          <a href={instance.url} target="_blank" rel="noopener noreferrer">
            Open the notebook of {instance.type}
          </a>
        )}{' '}
        {(instance.state === 'running' || instance.state === 'starting') &&
          (launches || instance.userId === me) && (
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => onStop(instance)}
            >
              Stop {instance.type}
            </button>
          )}
        {(instance.state === 'stopped' || instance.state === 'failed') && launches && (
          <button type="button" disabled={busy} onClick={() => onRestart(instance)}>
            Restart {instance.type}
          </button>
        )}
      </td>
    </tr>
  );
}

/** Launch: a type from the catalogue and the project's attached dataset versions to mount. */
function LaunchForm({
  project,
  types,
  busy,
  onLaunch,
}: {
  project: Project;
  types: InstanceTypeEntry[];
  busy: boolean;
  onLaunch: (type: string, datasets: { slug: string; version: string }[]) => void;
}) {
  const mountable = project.datasets.filter(
    (d) => d.status === 'attached' && d.access && d.versionStatus !== 'retired',
  );
  const [type, setType] = useState(types.find((t) => t.priceCentsPerHour === 0)?.name ?? '');
  const [mounts, setMounts] = useState<string[]>(mountable.map((d) => d.id));
  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    onLaunch(
      type,
      mountable
        .filter((d) => mounts.includes(d.id))
        .map((d) => ({ slug: d.slug, version: d.version })),
    );
  };
  return (
    <form onSubmit={handleSubmit} aria-label="Launch an instance">
      <h3>Launch an instance</h3>
      <label htmlFor="instance-type">Instance type</label>
      <select id="instance-type" value={type} onChange={(e) => setType(e.target.value)}>
        {types.map((t) => (
          <option key={t.name} value={t.name}>
            {t.title} ({t.name}) — {typeWords(t)}
          </option>
        ))}
      </select>
      <p className="muted">
        Free types are one running per person; paid types are enabled for a project by an admin
        until billing draws on the project&apos;s funds.
      </p>
      {mountable.length === 0 ? (
        <p className="muted" data-testid="mounts-empty">
          The project has no attached datasets to mount; the notebook starts with its own files.
        </p>
      ) : (
        <fieldset>
          <legend>Datasets to mount (read-only, under /home/ngsci/datasets)</legend>
          <ul className="picker">
            {mountable.map((d) => (
              <li key={d.id}>
                <label>
                  <input
                    type="checkbox"
                    checked={mounts.includes(d.id)}
                    onChange={(e) =>
                      setMounts((now) =>
                        e.target.checked ? [...now, d.id] : now.filter((m) => m !== d.id),
                      )
                    }
                  />{' '}
                  Mount {d.slug} {d.version}
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
      )}
      <button type="submit" disabled={busy || type === ''}>
        Launch the instance
      </button>
    </form>
  );
}

/**
 * The Instances section of the project page; `onInstances` hears each reading of the list (the
 * spend section reads again when it changes).
 */
export function InstancesSection({
  project,
  onInstances,
}: {
  project: Project;
  onInstances?: (instances: Instance[]) => void;
}) {
  const { user } = useSession();
  const { instances, problem, reread } = useInstances(project.id, onInstances);
  const [types, setTypes] = useState<InstanceTypeEntry[]>([]);
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    api.listInstanceTypes().then(
      (found) => live && setTypes(found),
      (caught: unknown) => live && setMessage({ text: refusalWords(caught), bad: true }),
    );
    return () => {
      live = false;
    };
  }, []);

  const act = (
    what: string,
    change: () => Promise<Instance>,
    done: (instance: Instance) => string,
  ) => {
    setBusy(true);
    setMessage(null);
    change()
      .then(
        (instance) => setMessage({ text: done(instance), bad: false }),
        (caught: unknown) => {
          const wait =
            caught instanceof ApiError && caught.status === 429 ? caught.retryAfter : null;
          setMessage({
            text: refusalWords(caught),
            bad: true,
            ...(wait === null
              ? {}
              : {
                  retry: {
                    at: Date.now() + wait * 1_000,
                    what,
                    again: () => act(what, change, done),
                  },
                }),
          });
        },
      )
      .finally(() => {
        setBusy(false);
        reread();
      });
  };
  const handleLaunch = (type: string, datasets: { slug: string; version: string }[]) =>
    act(
      'launch',
      () => api.launchInstance(project.id, { type, datasets }),
      // The server answers once the instance runs, or sooner (202) while it still starts.
      (i) =>
        i.state === 'running'
          ? `${i.type} is launched and running: open its notebook from the list.`
          : `${i.type} is launched; it is ${i.state}, and the notebook opens once it runs.`,
    );
  const handleStop = (instance: Instance) => {
    if (
      window.confirm(
        `Stop ${instance.type}? Its kernels end and unsaved work in open notebooks is lost; the files in your home and the project folder stay.`,
      )
    ) {
      act(
        'stop',
        () => api.stopInstance(instance.id),
        (i) => `${i.type} is stopping.`,
      );
    }
  };
  const handleRestart = (instance: Instance) =>
    act(
      'restart',
      () => api.restartInstance(instance.id),
      (i) => `${i.type} is ${i.state === 'running' ? 'running' : 'starting'} again.`,
    );

  const launches = project.may.includes('project.launch_instance') && project.status !== 'archived';
  return (
    <section aria-labelledby="instances-title" className="panel">
      <h2 id="instances-title">Instances</h2>
      <p className="muted">
        Notebooks next to the data: the datasets are mounted read-only and nothing is downloaded
        from them.
      </p>
      {message !== null && (
        <p
          role={message.bad ? 'alert' : 'status'}
          className={message.bad ? 'bad' : 'good'}
          data-testid="instances-message"
        >
          {message.text}
          {message.retry !== undefined && <RetryLater retry={message.retry} busy={busy} />}
        </p>
      )}
      {problem !== null && (
        <p role="alert" className="bad" data-testid="instances-problem">
          {asSentence(problem)}
        </p>
      )}
      {instances === null ? (
        problem === null && <p role="status">Loading the instances…</p>
      ) : instances.length === 0 ? (
        <p data-testid="instances-empty">
          The project has no instances yet.
          {launches && ' Launch one below to work in a notebook next to its data.'}
        </p>
      ) : (
        <table className="checks" data-testid="instances">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Launched by</th>
              <th scope="col">State</th>
              <th scope="col">Started</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((instance) => (
              <InstanceRow
                key={instance.id}
                instance={instance}
                types={types}
                project={project}
                me={user?.id}
                busy={busy}
                onStop={handleStop}
                onRestart={handleRestart}
              />
            ))}
          </tbody>
        </table>
      )}
      {launches && types.length > 0 && (
        <LaunchForm
          key={project.datasets.map((d) => d.id).join(',')}
          project={project}
          types={types}
          busy={busy}
          onLaunch={handleLaunch}
        />
      )}
    </section>
  );
}
