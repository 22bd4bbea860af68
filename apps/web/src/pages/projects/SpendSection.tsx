import type { ProjectSpend } from '@lantern/sdk';
import { useEffect, useId, useState } from 'react';
import { api } from '../../api.js';
import { asSentence } from '../../session.js';
import { problemOf } from '../catalog/catalog-text.js';

/**
 * The project page's spend (issues 7 and 8): what the project's instances cost this month (UTC),
 * from their per-second usage as the server adds it up — the total, what runs now and its rate per
 * hour, a bar chart of each day (an SVG with its title, and the same figures as a table), and the
 * spend per member and per type. Read again whenever the instances change, and every little while
 * as long as one runs, so the figures move while it happens.
 */

/** How often the spend is read again while an instance runs. */
const RUNNING_POLL_MS = 15_000;

const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

/** "$1.40" from integer cents. */
export function money(cents: number): string {
  return USD.format(cents / 100);
}

/** "42 s", "17 min", "2.5 h". */
export function duration(seconds: number): string {
  if (seconds < 60) {
    return `${seconds} s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min`;
  }
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The first day of this month in UTC, `2025-03-01`: where "this month" starts. */
function monthStart(now = new Date()): string {
  return `${now.toISOString().slice(0, 7)}-01`;
}

/** The project's spend this month, read again when `instancesKey` changes and while one runs. */
function useSpend(projectId: string, instancesKey: string) {
  const [spend, setSpend] = useState<ProjectSpend | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [reads, setReads] = useState(0);

  useEffect(() => {
    let live = true;
    api.getProjectSpend(projectId, { from: monthStart() }).then(
      (found) => {
        if (live) {
          setSpend(found);
          setProblem(null);
        }
      },
      (caught: unknown) => live && setProblem(problemOf(caught)),
    );
    return () => {
      live = false;
    };
  }, [projectId, instancesKey, reads]);

  const running = (spend?.running.instances.length ?? 0) > 0;
  useEffect(() => {
    if (!running) {
      return;
    }
    const timer = window.setTimeout(() => setReads((n) => n + 1), RUNNING_POLL_MS);
    return () => window.clearTimeout(timer);
  }, [running, spend]);

  return { spend, problem };
}

const CHART = { width: 600, height: 140, top: 8, bottom: 20 };

/** Spend per day as bars (an image with its title), the figures themselves in the table after. */
function DayChart({ days }: { days: ProjectSpend['byDay'] }) {
  const titleId = useId();
  const most = Math.max(1, ...days.map((d) => d.cents));
  const slot = CHART.width / Math.max(1, days.length);
  const plot = CHART.height - CHART.top - CHART.bottom;
  const first = days[0]?.day ?? '';
  const last = days.at(-1)?.day ?? '';
  const dearest = days.reduce<ProjectSpend['byDay'][number] | null>(
    (best, d) => (best === null || d.cents > best.cents ? d : best),
    null,
  );
  const title =
    dearest === null || dearest.cents === 0
      ? `Spend per day from ${first} to ${last}: nothing charged`
      : `Spend per day from ${first} to ${last}; the most, ${money(dearest.cents)}, on ${dearest.day}`;
  return (
    <svg
      className="spend-chart"
      role="img"
      aria-labelledby={titleId}
      viewBox={`0 0 ${CHART.width} ${CHART.height}`}
      data-testid="spend-chart"
    >
      <title id={titleId}>{title}</title>
      <line
        x1={0}
        x2={CHART.width}
        y1={CHART.height - CHART.bottom}
        y2={CHART.height - CHART.bottom}
        className="axis"
      />
      {days.map((d, i) => {
        const height = (d.cents / most) * plot;
        return (
          <rect
            key={d.day}
            x={i * slot + slot * 0.15}
            width={slot * 0.7}
            y={CHART.height - CHART.bottom - height}
            height={height}
            className="bar"
          >
            <title>{`${d.day}: ${money(d.cents)}, ${duration(d.seconds)}`}</title>
          </rect>
        );
      })}
      <text x={0} y={CHART.height - 4} className="tick">
        {first}
      </text>
      <text x={CHART.width} y={CHART.height - 4} className="tick" textAnchor="end">
        {last}
      </text>
    </svg>
  );
}

/** A table of figures: a name, the time and the money. */
function FigureTable({
  caption,
  heading,
  rows,
  testId,
}: {
  caption: string;
  heading: [string, string, string];
  rows: { key: string; name: string; seconds: number; cents: number }[];
  testId: string;
}) {
  return (
    <table className="checks" data-testid={testId}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {heading.map((h) => (
            <th scope="col" key={h}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <th scope="row">{r.name}</th>
            <td>{duration(r.seconds)}</td>
            <td>{money(r.cents)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The Spend section of the project page; `instancesKey` changes when the instances do. */
export function SpendSection({
  projectId,
  instancesKey,
}: {
  projectId: string;
  instancesKey: string;
}) {
  const { spend, problem } = useSpend(projectId, instancesKey);
  const running = spend?.running.instances ?? [];
  const free =
    'Free instances cost nothing; paid types need an admin to enable them until billing arrives.';
  return (
    <section aria-labelledby="spend-title" className="panel" data-testid="spend">
      <h2 id="spend-title">Spend this month</h2>
      {problem !== null && (
        <p role="alert" className="bad" data-testid="spend-problem">
          {asSentence(problem)}
        </p>
      )}
      {spend === null ? (
        problem === null && <p role="status">Reading the spend…</p>
      ) : spend.total.seconds === 0 && running.length === 0 ? (
        <p data-testid="spend-empty">Nothing has been spent this month. {free}</p>
      ) : (
        <>
          <p className="spend-total" data-testid="spend-total">
            <strong>{money(spend.total.cents)}</strong> this month (UTC), for{' '}
            {duration(spend.total.seconds)} of instances.
            {spend.total.cents === 0 && <span className="muted"> {free}</span>}
          </p>
          <p data-testid="spend-running" aria-live="polite">
            {running.length === 0
              ? 'Nothing runs now.'
              : `Running now: ${running.length} instance${running.length === 1 ? '' : 's'} at ${money(spend.running.centsPerHour)} an hour (${running
                  .map(
                    (r) =>
                      `${r.type} by ${r.name}, ${money(r.priceCentsPerHour)} an hour, ${money(r.cents)} so far`,
                  )
                  .join('; ')}).`}
          </p>
          <DayChart days={spend.byDay} />
          <details>
            <summary>Spend per day as a table</summary>
            <FigureTable
              caption="Spend per day (UTC)"
              heading={['Day', 'Time', 'Spent']}
              testId="spend-days"
              rows={spend.byDay.map((d) => ({ key: d.day, name: d.day, ...d }))}
            />
          </details>
          <FigureTable
            caption="By member"
            heading={['Member', 'Time', 'Spent']}
            testId="spend-members"
            rows={spend.byMember.map((m) => ({ key: m.userId, ...m }))}
          />
          <FigureTable
            caption="By instance type"
            heading={['Type', 'Time', 'Spent']}
            testId="spend-types"
            rows={spend.byType.map((t) => ({
              key: `${t.type}@${t.priceCentsPerHour}`,
              name: `${t.type} (${t.priceCentsPerHour === 0 ? 'free' : `${money(t.priceCentsPerHour)} an hour`})`,
              seconds: t.seconds,
              cents: t.cents,
            }))}
          />
        </>
      )}
    </section>
  );
}
