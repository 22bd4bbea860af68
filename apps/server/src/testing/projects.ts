import type { MemberRole } from '@lantern/core/projects';
import { projectsRepository } from '../repositories/projects/projects.repository.js';
import type { TestServer } from './test-server.js';

/**
 * Makes `userId` a member of a project straight in the database, for tests that need many projects
 * with the same members (the role matrix); joining through an invitation is tested on its own.
 */
export async function addMemberDirectly(
  server: TestServer,
  projectId: string,
  userId: string,
  role: MemberRole,
): Promise<void> {
  await projectsRepository.insertMember(server.ctx.database.db, {
    project_id: projectId,
    user_id: userId,
    role,
    added_by: 'system:test',
  });
}
