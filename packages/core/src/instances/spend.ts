/**
 * A project's spend (issues 7 and 8): what its instances cost, from their per-second usage records
 * and the price per hour each record was written with. Pure arithmetic, so that the server, the
 * web app and the CLI agree on the same numbers: the window asked for, each record clipped to it
 * (a record still open counts up to now), time summed to the millisecond and shown in whole
 * seconds, and cents rounded once per figure, half up, from the exact sum of time × cents per
 * hour — never per record, so many short stretches cost what one long one does. Each figure (the total, a type, a member, a day) is rounded on its
 * own, so the parts may differ from the total by a cent or so. Free types cost 0 cents and still
 * show their hours.
 */

/** The window a spend covers when none is asked for: the last 30 days up to now. */
export const DEFAULT_SPEND_WINDOW_DAYS = 30;
/** The longest window one answer covers (a leap year). */
export const MAX_SPEND_WINDOW_DAYS = 366;

const MS_PER_HOUR = 3_600_000n;
const DAY_MS = 86_400_000;

/** One running stretch of an instance, as the usage records hold it. */
export interface UsageStretch {
  instanceId: string;
  type: string;
  userId: string;
  /** The type's price when the stretch was written (integer cents per hour; 0 is free). */
  priceCentsPerHour: number;
  startedAt: Date;
  /** How far the record has been extended; for an open record, now counts instead. */
  endedAt: Date;
  /** Whether the stretch has ended (the instance stopped); an open one is running now. */
  closed: boolean;
}

/** From (inclusive) to (exclusive). */
export interface SpendWindow {
  from: Date;
  to: Date;
}

/** Time and money: whole seconds, integer cents. */
export interface SpendFigure {
  seconds: number;
  cents: number;
}

export interface TypeSpend extends SpendFigure {
  type: string;
  priceCentsPerHour: number;
}

export interface MemberSpend extends SpendFigure {
  userId: string;
}

export interface DaySpend extends SpendFigure {
  /** A UTC calendar date, `2025-03-01`. */
  day: string;
}

/** An instance running now: what it costs per hour and has cost since it started running. */
export interface RunningSpend extends SpendFigure {
  instanceId: string;
  type: string;
  userId: string;
  priceCentsPerHour: number;
  since: string;
}

export interface ProjectSpendFigures {
  from: string;
  to: string;
  total: SpendFigure;
  /** Per type and price, dearest first (a type whose price changed shows once per price). */
  byType: TypeSpend[];
  /** Per person who launched, dearest first. */
  byMember: MemberSpend[];
  /** Every UTC day the window touches, oldest first, days without usage at 0. */
  byDay: DaySpend[];
  running: {
    /** What the instances running now cost together, in cents per hour. */
    centsPerHour: number;
    instances: RunningSpend[];
  };
}

/** A window that cannot be answered: which parameter, and why. */
export class SpendWindowError extends Error {
  constructor(
    readonly parameter: 'from' | 'to',
    message: string,
  ) {
    super(message);
    this.name = 'SpendWindowError';
  }
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/u;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/u;

/**
 * Reads `?from=&to=` (each a date, meaning its start in UTC, or a date and time with its offset):
 * by default `to` is now and `from` 30 days before it; `from` must come before `to`, and the window
 * be at most 366 days long.
 */
export function resolveSpendWindow(
  query: { from?: string | undefined; to?: string | undefined },
  now: Date,
): SpendWindow {
  const to = query.to === undefined ? now : parseInstant('to', query.to);
  const from =
    query.from === undefined
      ? new Date(to.getTime() - DEFAULT_SPEND_WINDOW_DAYS * DAY_MS)
      : parseInstant('from', query.from);
  if (from.getTime() >= to.getTime()) {
    throw new SpendWindowError(
      'from',
      `from (${from.toISOString()}) must come before to (${to.toISOString()})`,
    );
  }
  if (to.getTime() - from.getTime() > MAX_SPEND_WINDOW_DAYS * DAY_MS) {
    throw new SpendWindowError(
      'from',
      `the window from ${from.toISOString()} to ${to.toISOString()} is longer than ${MAX_SPEND_WINDOW_DAYS} days; ask for a shorter one`,
    );
  }
  return { from, to };
}

function parseInstant(parameter: 'from' | 'to', text: string): Date {
  if (DATE_ONLY.test(text) || DATE_TIME.test(text)) {
    const date = new Date(DATE_ONLY.test(text) ? `${text}T00:00:00Z` : text);
    // `2025-02-30` parses to March: a date that does not round-trip is no date.
    if (
      !Number.isNaN(date.getTime()) &&
      (!DATE_ONLY.test(text) || date.toISOString().startsWith(text))
    ) {
      return date;
    }
  }
  throw new SpendWindowError(
    parameter,
    `${parameter}=${text} is neither a date (2025-03-01) nor a date and time with its offset (2025-03-01T12:00:00Z)`,
  );
}

/**
 * Cents for `centMilliseconds` (the sum of milliseconds × cents per hour), rounded half up once:
 * one second at 1800 cents an hour is half a cent, and rounds to 1.
 */
export function centsOf(centMilliseconds: bigint): number {
  return Number((centMilliseconds + MS_PER_HOUR / 2n) / MS_PER_HOUR);
}

/** The figure for `ms` milliseconds that cost `centMilliseconds`: whole seconds, rounded cents. */
function figureOf(ms: number, centMilliseconds: bigint): SpendFigure {
  return { seconds: Math.floor(ms / 1000), cents: centsOf(centMilliseconds) };
}

/** Where an open record ends: now, never before it started. */
function endOf(stretch: UsageStretch, now: Date): number {
  const end = stretch.closed ? stretch.endedAt : now;
  return Math.max(stretch.startedAt.getTime(), end.getTime());
}

/** Sums time and cost under a key; the figures are rounded once, at the end. */
class Tally<TKey> {
  private readonly sums = new Map<TKey, { ms: number; centMs: bigint }>();

  add(key: TKey, ms: number, priceCentsPerHour: number): void {
    const sum = this.sums.get(key) ?? { ms: 0, centMs: 0n };
    sum.ms += ms;
    sum.centMs += BigInt(ms) * BigInt(priceCentsPerHour);
    this.sums.set(key, sum);
  }

  figure(key: TKey): SpendFigure {
    const sum = this.sums.get(key);
    return sum === undefined ? { seconds: 0, cents: 0 } : figureOf(sum.ms, sum.centMs);
  }

  keys(): TKey[] {
    return [...this.sums.keys()];
  }
}

/** The UTC date of a time in milliseconds since the epoch. */
function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Dearest first, then the most used, then by name (a stable order for equal figures). */
function byCost<T extends SpendFigure>(name: (item: T) => string) {
  return (a: T, b: T) =>
    b.cents - a.cents || b.seconds - a.seconds || name(a).localeCompare(name(b));
}

/**
 * The spend of `stretches` within `window` as of `now`: the total, per type, per member, per UTC
 * day, and what runs now (open stretches, whatever the window) with its rate per hour.
 */
export function computeSpend(
  stretches: readonly UsageStretch[],
  window: SpendWindow,
  now: Date,
): ProjectSpendFigures {
  const from = window.from.getTime();
  const to = window.to.getTime();
  const total = new Tally<'total'>();
  const types = new Tally<string>();
  const typeKeys = new Map<string, { type: string; priceCentsPerHour: number }>();
  const members = new Tally<string>();
  const days = new Tally<string>();
  total.add('total', 0, 0);

  for (const stretch of stretches) {
    const start = Math.max(from, stretch.startedAt.getTime());
    const end = Math.min(to, endOf(stretch, now));
    if (end <= start) {
      continue;
    }
    const price = stretch.priceCentsPerHour;
    const typeKey = `${stretch.type}@${price}`;
    typeKeys.set(typeKey, { type: stretch.type, priceCentsPerHour: price });
    total.add('total', end - start, price);
    types.add(typeKey, end - start, price);
    members.add(stretch.userId, end - start, price);
    // Split at each UTC midnight the stretch crosses.
    for (let at = start; at < end;) {
      const midnight = (Math.floor(at / DAY_MS) + 1) * DAY_MS;
      const until = Math.min(end, midnight);
      days.add(dayOf(at), until - at, price);
      at = until;
    }
  }

  const byDay: DaySpend[] = [];
  if (to > from) {
    for (let day = Math.floor(from / DAY_MS); day * DAY_MS < to; day += 1) {
      const name = dayOf(day * DAY_MS);
      byDay.push({ day: name, ...days.figure(name) });
    }
  }

  const running = stretches
    .filter((stretch) => !stretch.closed)
    .map((stretch): RunningSpend => {
      const ms = endOf(stretch, now) - stretch.startedAt.getTime();
      return {
        instanceId: stretch.instanceId,
        type: stretch.type,
        userId: stretch.userId,
        priceCentsPerHour: stretch.priceCentsPerHour,
        since: stretch.startedAt.toISOString(),
        ...figureOf(ms, BigInt(ms) * BigInt(stretch.priceCentsPerHour)),
      };
    })
    .sort((a, b) => a.since.localeCompare(b.since) || a.instanceId.localeCompare(b.instanceId));

  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    total: total.figure('total'),
    byType: types
      .keys()
      .map((key): TypeSpend => {
        const { type, priceCentsPerHour } = typeKeys.get(key) ?? {
          type: key,
          priceCentsPerHour: 0,
        };
        return { type, priceCentsPerHour, ...types.figure(key) };
      })
      .sort(byCost((t) => `${t.type}@${t.priceCentsPerHour}`)),
    byMember: members
      .keys()
      .map((userId): MemberSpend => ({ userId, ...members.figure(userId) }))
      .sort(byCost((m) => m.userId)),
    byDay,
    running: {
      centsPerHour: running.reduce((sum, r) => sum + r.priceCentsPerHour, 0),
      instances: running,
    },
  };
}
