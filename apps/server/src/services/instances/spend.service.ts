/**
 * A project's spend (issues 7 and 8): what its instances cost, for its members. The usage records
 * the reconciler writes per second are read here (the project's, over the window asked for, and
 * the ones still open); the arithmetic is core's `computeSpend`, and the figures gain the names of
 * the people they are about. Nothing is charged yet: billing will draw on the same records.
 */
import { AppError } from '@lantern/core';
import {
  computeSpend,
  resolveSpendWindow,
  SpendWindowError,
  type MemberSpend,
  type ProjectSpendFigures,
  type RunningSpend,
  type SpendWindow,
} from '@lantern/core/instances';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { instancesRepository } from '../../repositories/instances/instances.repository.js';
import { projectsRepository } from '../../repositories/projects/projects.repository.js';

/** The project's spend over a window, with who each figure is about by name. */
export interface ProjectSpend extends Omit<ProjectSpendFigures, 'byMember' | 'running'> {
  projectId: string;
  byMember: (MemberSpend & { name: string })[];
  running: {
    centsPerHour: number;
    instances: (RunningSpend & { name: string })[];
  };
}

export class SpendService {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The spend of `projectId` over `query`'s window (the last 30 days by default, at most 366), as
   * of `now`, for an admitted member; anyone else is told the project does not exist.
   */
  async projectSpend(
    userId: string,
    projectId: string,
    query: { from?: string | undefined; to?: string | undefined },
    now = new Date(),
  ): Promise<ProjectSpend> {
    const window = windowOf(query, now);
    await this.requireMember(projectId, userId);
    const rows = await instancesRepository.usageOfProject(
      this.db,
      projectId,
      window.from,
      window.to,
    );
    const names = new Map(rows.map((row) => [row.user_id, row.user_name]));
    const nameOf = (id: string) => names.get(id) ?? id;
    const figures = computeSpend(
      rows.map((row) => ({
        instanceId: row.instance_id,
        type: row.type_name,
        userId: row.user_id,
        priceCentsPerHour: row.price_cents_per_hour,
        startedAt: row.started_at,
        endedAt: row.ended_at,
        closed: row.closed,
      })),
      window,
      now,
    );
    return {
      projectId,
      ...figures,
      byMember: figures.byMember.map((m) => ({ ...m, name: nameOf(m.userId) })),
      running: {
        centsPerHour: figures.running.centsPerHour,
        instances: figures.running.instances.map((r) => ({ ...r, name: nameOf(r.userId) })),
      },
    };
  }

  private async requireMember(projectId: string, userId: string): Promise<void> {
    const project = await projectsRepository.project(this.db, projectId);
    const member =
      project === undefined
        ? undefined
        : await projectsRepository.member(this.db, projectId, userId);
    if (member?.user_status !== 'admitted') {
      throw new AppError('not_found', `there is no project ${projectId}`);
    }
  }
}

/** The window asked for; one that cannot be answered is a 400 naming the parameter. */
function windowOf(
  query: { from?: string | undefined; to?: string | undefined },
  now: Date,
): SpendWindow {
  try {
    return resolveSpendWindow(query, now);
  } catch (error) {
    if (error instanceof SpendWindowError) {
      throw new AppError('validation_failed', error.message, {
        errors: [{ path: `querystring.${error.parameter}`, message: error.message }],
      });
    }
    throw error;
  }
}
