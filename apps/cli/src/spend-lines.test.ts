import type { ProjectSpend } from '@lantern/sdk';
import { describe, expect, it } from 'vitest';
import { describeCents, spendLines } from './commands/projects.command.js';

// What `lantern projects spend` prints for a spend with paid and free usage and one instance
// running; the command itself is run against a real server in projects.test.ts.
const SPEND: ProjectSpend = {
  projectId: 'prj_0123456789abcdef',
  from: '2025-03-01T00:00:00.000Z',
  to: '2025-03-04T00:00:00.000Z',
  total: { seconds: 27010, cents: 140 },
  byType: [
    { type: 'gpu.t4', priceCentsPerHour: 53, seconds: 7200, cents: 106 },
    { type: 'cpu.small', priceCentsPerHour: 19, seconds: 5400, cents: 29 },
    { type: 'cpu.xsmall', priceCentsPerHour: 0, seconds: 14400, cents: 0 },
  ],
  byMember: [
    { userId: 'u_eddie', name: 'Eddie Editor', seconds: 7210, cents: 111 },
    { userId: 'u_olive', name: 'Olive Owner', seconds: 19800, cents: 29 },
  ],
  byDay: [
    { day: '2025-03-01', seconds: 3600, cents: 19 },
    { day: '2025-03-02', seconds: 0, cents: 0 },
    { day: '2025-03-03', seconds: 7210, cents: 111 },
  ],
  running: {
    centsPerHour: 53,
    instances: [
      {
        instanceId: 'ins_0000000000000002',
        type: 'gpu.t4',
        userId: 'u_eddie',
        name: 'Eddie Editor',
        priceCentsPerHour: 53,
        since: '2025-03-03T10:00:00.000Z',
        seconds: 7200,
        cents: 106,
      },
    ],
  },
};

describe('lantern projects spend, as text', () => {
  it('prints the total, what runs now, and the spend per type, member and day with usage', () => {
    expect(spendLines(SPEND.projectId, SPEND)).toEqual([
      'prj_0123456789abcdef spent $1.40 from 2025-03-01 00:00 to 2025-03-04 00:00 UTC (7.50 h of instances)',
      '',
      'Running now: $0.53 an hour',
      '  TYPE    BY            SINCE             HOURS   SO FAR',
      '  gpu.t4  Eddie Editor  2025-03-03 10:00  2.00 h  $1.06',
      '',
      'TYPE        PER HOUR  HOURS   SPENT',
      'gpu.t4      $0.53     2.00 h  $1.06',
      'cpu.small   $0.19     1.50 h  $0.29',
      'cpu.xsmall  free      4.00 h  $0.00',
      '',
      'MEMBER        HOURS   SPENT',
      'Eddie Editor  2.00 h  $1.11',
      'Olive Owner   5.50 h  $0.29',
      '',
      'DAY (UTC)   HOURS   SPENT',
      '2025-03-01  1.00 h  $0.19',
      '2025-03-03  2.00 h  $1.11',
    ]);
  });

  it('says plainly when nothing was spent, and writes dollars with cents', () => {
    const nothing: ProjectSpend = {
      ...SPEND,
      total: { seconds: 0, cents: 0 },
      byType: [],
      byMember: [],
      byDay: [],
      running: { centsPerHour: 0, instances: [] },
    };
    expect(spendLines(SPEND.projectId, nothing)).toEqual([
      'prj_0123456789abcdef spent nothing from 2025-03-01 00:00 to 2025-03-04 00:00 UTC. Free instances cost nothing; paid types need an admin to enable them until billing arrives.',
    ]);
    expect([0, 5, 140, 123456].map(describeCents)).toEqual([
      '$0.00',
      '$0.05',
      '$1.40',
      '$1,234.56',
    ]);
  });
});
