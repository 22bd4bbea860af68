import { describe, expect, it } from 'vitest';
import {
  centsOf,
  computeSpend,
  resolveSpendWindow,
  SpendWindowError,
  type UsageStretch,
} from './spend.js';

const at = (text: string) => new Date(text);

function stretch(overrides: Partial<UsageStretch> & Pick<UsageStretch, 'startedAt' | 'endedAt'>) {
  return {
    instanceId: 'ins_0000000000000001',
    type: 'cpu.small',
    userId: 'u_olive',
    priceCentsPerHour: 19,
    closed: true,
    ...overrides,
  } satisfies UsageStretch;
}

const MARCH = { from: at('2025-03-01T00:00:00Z'), to: at('2025-03-04T00:00:00Z') };
const NOW = at('2025-03-03T12:00:00Z');

describe('cents from seconds × cents per hour', () => {
  it('rounds half up, once', () => {
    expect(centsOf(0n)).toBe(0);
    expect(centsOf(3_600_000n * 19n)).toBe(19);
    // One second at 1800 cents an hour is half a cent: up; a millisecond less is less than half.
    expect(centsOf(1000n * 1800n)).toBe(1);
    expect(centsOf(999n * 1800n)).toBe(0);
  });

  it('rounds the total once, not each record: 100 stretches of 10 s at 19 cents an hour', () => {
    const stretches = Array.from({ length: 100 }, (_, i) =>
      stretch({
        startedAt: new Date(Date.UTC(2025, 2, 1, 8, 0, i * 20)),
        endedAt: new Date(Date.UTC(2025, 2, 1, 8, 0, i * 20 + 10)),
      }),
    );
    const spend = computeSpend(stretches, MARCH, NOW);
    // 1000 s × 19 / 3600 = 5.28 cents; each record alone would round to 0 (10 × 19 / 3600 = 0.05).
    expect(spend.total).toEqual({ seconds: 1000, cents: 5 });
  });
});

describe('a project spend', () => {
  const stretches: UsageStretch[] = [
    // Olive's cpu.small, 90 minutes across midnight into 2 March.
    stretch({ startedAt: at('2025-03-01T23:00:00Z'), endedAt: at('2025-03-02T00:30:00Z') }),
    // Eddie's gpu.t4, running since 10:00 on 3 March; the record was last extended at 11:00.
    stretch({
      instanceId: 'ins_0000000000000002',
      type: 'gpu.t4',
      userId: 'u_eddie',
      priceCentsPerHour: 53,
      startedAt: at('2025-03-03T10:00:00Z'),
      endedAt: at('2025-03-03T11:00:00Z'),
      closed: false,
    }),
    // Olive's free cpu.xsmall: 4 hours, 0 cents.
    stretch({
      instanceId: 'ins_0000000000000003',
      type: 'cpu.xsmall',
      priceCentsPerHour: 0,
      startedAt: at('2025-03-02T08:00:00Z'),
      endedAt: at('2025-03-02T12:00:00Z'),
    }),
    // Before the window: left out.
    stretch({ startedAt: at('2025-02-20T08:00:00Z'), endedAt: at('2025-02-20T09:00:00Z') }),
  ];
  const spend = computeSpend(stretches, MARCH, NOW);

  it('totals what the window holds, an open record counted up to now', () => {
    // 5400 s × 19 + 7200 s × 53 + 14400 s × 0 = 102600 + 381600 = 484200 cent-seconds = 134.5 cents.
    expect(spend.total).toEqual({ seconds: 5400 + 7200 + 14400, cents: 135 });
    expect(spend).toMatchObject({
      from: '2025-03-01T00:00:00.000Z',
      to: '2025-03-04T00:00:00.000Z',
    });
  });

  it('splits by type (free at 0 cents with its hours), by member and by UTC day', () => {
    expect(spend.byType).toEqual([
      { type: 'gpu.t4', priceCentsPerHour: 53, seconds: 7200, cents: 106 },
      { type: 'cpu.small', priceCentsPerHour: 19, seconds: 5400, cents: 29 },
      { type: 'cpu.xsmall', priceCentsPerHour: 0, seconds: 14400, cents: 0 },
    ]);
    expect(spend.byMember).toEqual([
      { userId: 'u_eddie', seconds: 7200, cents: 106 },
      // 102600 cent-seconds = 28.5 cents: half up.
      { userId: 'u_olive', seconds: 5400 + 14400, cents: 29 },
    ]);
    expect(spend.byDay).toEqual([
      { day: '2025-03-01', seconds: 3600, cents: 19 },
      // 1800 s × 19 = 9.5 cents, and the free 4 hours.
      { day: '2025-03-02', seconds: 1800 + 14400, cents: 10 },
      { day: '2025-03-03', seconds: 7200, cents: 106 },
    ]);
  });

  it('says what runs now and its rate per hour', () => {
    expect(spend.running).toEqual({
      centsPerHour: 53,
      instances: [
        {
          instanceId: 'ins_0000000000000002',
          type: 'gpu.t4',
          userId: 'u_eddie',
          priceCentsPerHour: 53,
          since: '2025-03-03T10:00:00.000Z',
          seconds: 7200,
          cents: 106,
        },
      ],
    });
  });

  it('clips a stretch to the window, and lists every day of it even when nothing ran', () => {
    const clipped = computeSpend(
      stretches,
      { from: at('2025-03-02T00:15:00Z'), to: at('2025-03-02T10:00:00Z') },
      NOW,
    );
    expect(clipped.total).toEqual({ seconds: 900 + 7200, cents: centsOf(900_000n * 19n) });
    expect(clipped.byDay.map((d) => d.day)).toEqual(['2025-03-02']);
    const empty = computeSpend([], MARCH, NOW);
    expect(empty.total).toEqual({ seconds: 0, cents: 0 });
    expect(empty.byDay).toEqual([
      { day: '2025-03-01', seconds: 0, cents: 0 },
      { day: '2025-03-02', seconds: 0, cents: 0 },
      { day: '2025-03-03', seconds: 0, cents: 0 },
    ]);
    expect(empty.running).toEqual({ centsPerHour: 0, instances: [] });
  });

  it('shows a type whose price changed once per price', () => {
    const repriced = computeSpend(
      [
        stretch({ startedAt: at('2025-03-01T01:00:00Z'), endedAt: at('2025-03-01T02:00:00Z') }),
        stretch({
          priceCentsPerHour: 25,
          startedAt: at('2025-03-02T01:00:00Z'),
          endedAt: at('2025-03-02T02:00:00Z'),
        }),
      ],
      MARCH,
      NOW,
    );
    expect(repriced.byType).toEqual([
      { type: 'cpu.small', priceCentsPerHour: 25, seconds: 3600, cents: 25 },
      { type: 'cpu.small', priceCentsPerHour: 19, seconds: 3600, cents: 19 },
    ]);
  });
});

describe('the window asked for', () => {
  it('defaults to the last 30 days up to now', () => {
    expect(resolveSpendWindow({}, NOW)).toEqual({ from: at('2025-02-01T12:00:00Z'), to: NOW });
    expect(resolveSpendWindow({ to: '2025-03-01' }, NOW)).toEqual({
      from: at('2025-01-30T00:00:00Z'),
      to: at('2025-03-01T00:00:00Z'),
    });
  });

  it('reads dates as their UTC start and date-times with their offset', () => {
    expect(
      resolveSpendWindow({ from: '2025-03-01', to: '2025-03-02T01:00:00+01:00' }, NOW),
    ).toEqual({ from: at('2025-03-01T00:00:00Z'), to: at('2025-03-02T00:00:00Z') });
  });

  it('refuses what is no date, a window backwards and one longer than 366 days', () => {
    /** The refused parameter and why, or `accepted`; anything else thrown is thrown on. */
    const refusal = (query: { from?: string; to?: string }): [string, string] | 'accepted' => {
      try {
        resolveSpendWindow(query, NOW);
      } catch (error) {
        if (error instanceof SpendWindowError) {
          return [error.parameter, error.message];
        }
        throw error;
      }
      return 'accepted';
    };
    expect(refusal({ from: 'yesterday' })).toEqual([
      'from',
      'from=yesterday is neither a date (2025-03-01) nor a date and time with its offset (2025-03-01T12:00:00Z)',
    ]);
    expect(refusal({ to: '2025-02-30' })?.[0]).toBe('to');
    expect(refusal({ to: '2025-03-01T10:00:00' })?.[0]).toBe('to');
    expect(refusal({ from: '2025-03-02', to: '2025-03-01' })).toEqual([
      'from',
      'from (2025-03-02T00:00:00.000Z) must come before to (2025-03-01T00:00:00.000Z)',
    ]);
    expect(refusal({ from: '2024-01-01', to: '2025-01-02' })?.[1]).toContain(
      'longer than 366 days',
    );
    expect(refusal({ from: '2024-01-01', to: '2025-01-01' })).toBe('accepted');
  });
});
