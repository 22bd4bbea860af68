import type { InstanceState } from '@lantern/core/instances';
import type { Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { ProjectStatus } from '@lantern/core/projects';
import type { Database, InstanceTable, InstanceUsageTable, UserStatus } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;
export type InstanceRow = Selectable<InstanceTable>;
export type UsageRow = Selectable<InstanceUsageTable>;
/** A usage record with the name of the person whose instance it metered. */
export type ProjectUsageRow = UsageRow & { user_name: string };
export type LiveInstanceRow = InstanceRow & {
  project_status: ProjectStatus;
  user_status: UserStatus;
};

/** The states a live instance is in (it holds, or may soon hold, resources). */
const LIVE: readonly InstanceState[] = ['requested', 'starting', 'running', 'stopping'];

/**
 * SQL of instances and their usage. Reads for people name the project (or the instance with its
 * project); the reconciler's reads of every live instance are named `live*` (the system's view).
 */
export const instancesRepository = {
  async insert(trx: Transaction<Database>, row: Insertable<InstanceTable>): Promise<void> {
    await trx.insertInto('instance').values(row).execute();
  },

  async byId(executor: Executor, id: string): Promise<InstanceRow | undefined> {
    return executor.selectFrom('instance').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** Locks the instance's row: its moves are made one at a time. */
  async byIdForUpdate(trx: Transaction<Database>, id: string): Promise<InstanceRow | undefined> {
    return trx
      .selectFrom('instance')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
  },

  async ofProject(executor: Executor, projectId: string): Promise<InstanceRow[]> {
    return executor
      .selectFrom('instance')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
  },

  /** The user's live free instance, if any (the free quota: one per user). */
  async liveFreeOf(executor: Executor, userId: string): Promise<InstanceRow | undefined> {
    return executor
      .selectFrom('instance')
      .selectAll()
      .where('user_id', '=', userId)
      .where('free', '=', true)
      .where('state', 'in', LIVE)
      .executeTakeFirst();
  },

  /** How many instances are being started now, everywhere (admission control). */
  async countStarting(executor: Executor): Promise<number> {
    const row = await executor
      .selectFrom('instance')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('state', 'in', ['requested', 'starting'])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /**
   * Every live instance, with whether its project is still open and its user still admitted (the
   * reconciler's and the boot's view; the system's, not a person's).
   */
  async liveInstances(executor: Executor): Promise<LiveInstanceRow[]> {
    return executor
      .selectFrom('instance')
      .innerJoin('project', 'project.id', 'instance.project_id')
      .innerJoin('users', 'users.id', 'instance.user_id')
      .selectAll('instance')
      .select(['project.status as project_status', 'users.status as user_status'])
      .where('instance.state', 'in', LIVE)
      .orderBy('instance.created_at')
      .execute();
  },

  async update(executor: Executor, id: string, changes: Updateable<InstanceTable>): Promise<void> {
    await executor
      .updateTable('instance')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  /**
   * Extends the lease of a start held by `owner` to `until`, while the instance is still
   * `requested` or `starting` and still that owner's. Whether it was (false: the start was taken
   * over, or ended).
   */
  async renewStartLease(
    executor: Executor,
    id: string,
    owner: string,
    until: Date,
  ): Promise<boolean> {
    const result = await executor
      .updateTable('instance')
      .set({ start_lease_until: until })
      .where('id', '=', id)
      .where('start_owner', '=', owner)
      .where('state', 'in', ['requested', 'starting'])
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /**
   * Stores the backend's handle of a start, only while the instance is still `starting` and the
   * start is still `owner`'s. Whether it was stored (false: another replica took it over).
   */
  async storeStartHandle(
    executor: Executor,
    id: string,
    owner: string,
    changes: Pick<Updateable<InstanceTable>, 'handle' | 'last_activity_at' | 'idle_warned_at'>,
  ): Promise<boolean> {
    const result = await executor
      .updateTable('instance')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .where('start_owner', '=', owner)
      .where('state', '=', 'starting')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /**
   * Activity at `at` on a running instance: its last activity moved forward (never back), and any
   * idle warning withdrawn.
   */
  async recordActivity(executor: Executor, id: string, at: Date): Promise<void> {
    await executor
      .updateTable('instance')
      .set({ last_activity_at: at, idle_warned_at: null })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where((eb) => eb.or([eb('last_activity_at', 'is', null), eb('last_activity_at', '<', at)]))
      .execute();
  },

  /**
   * Moves `id` from `from` to `to` only if it is still in `from` (a claim: of two replicas, one
   * wins). Whether it moved.
   */
  async move(
    executor: Executor,
    id: string,
    from: InstanceState,
    changes: Updateable<InstanceTable> & { state: InstanceState },
  ): Promise<boolean> {
    const result = await executor
      .updateTable('instance')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .where('state', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async openUsage(executor: Executor, row: Insertable<InstanceUsageTable>): Promise<void> {
    await executor.insertInto('instance_usage').values(row).execute();
  },

  /** Moves the open usage record's end to `now`, closing it when `close`. Whether there was one. */
  async extendUsage(
    executor: Executor,
    instanceId: string,
    now: Date,
    close: boolean,
  ): Promise<boolean> {
    const result = await executor
      .updateTable('instance_usage')
      .set({ ended_at: now, closed: close })
      .where('instance_id', '=', instanceId)
      .where('closed', '=', false)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async usageOf(executor: Executor, instanceId: string): Promise<UsageRow[]> {
    return executor
      .selectFrom('instance_usage')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .orderBy('started_at')
      .execute();
  },

  /**
   * The project's usage records that overlap `from`..`to`, and every one still open (it runs now,
   * whatever the window), oldest first, with the name of whom each metered.
   */
  async usageOfProject(
    executor: Executor,
    projectId: string,
    from: Date,
    to: Date,
  ): Promise<ProjectUsageRow[]> {
    return executor
      .selectFrom('instance_usage')
      .innerJoin('users', 'users.id', 'instance_usage.user_id')
      .selectAll('instance_usage')
      .select('users.name as user_name')
      .where('instance_usage.project_id', '=', projectId)
      .where((eb) =>
        eb.or([
          eb('instance_usage.closed', '=', false),
          eb.and([
            eb('instance_usage.started_at', '<', to),
            eb('instance_usage.ended_at', '>', from),
          ]),
        ]),
      )
      .orderBy('instance_usage.started_at')
      .orderBy('instance_usage.id')
      .execute();
  },

  async setPaidInstances(
    executor: Executor,
    projectId: string,
    enabled: boolean,
  ): Promise<boolean> {
    const result = await executor
      .updateTable('project')
      .set({ paid_instances: enabled, updated_at: new Date() })
      .where('id', '=', projectId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },
};
