import { isMemberRole, type MemberRole } from '@lantern/core/projects';
import type { Project, ProjectDataset } from '@lantern/sdk';

/**
 * The words of the projects pages: roles, dataset access, and the activity feed's entries as
 * sentences ("Ada invited grace@example.org as an editor").
 */

/** Where a project's page is. */
export const projectPath = (id: string) => `/projects/${encodeURIComponent(id)}`;

/** What each role may do, as the invitation form and the members list say it. */
export const ROLE_WORDS: Readonly<Record<MemberRole, string>> = {
  owner: 'owner: runs the project (members, ownership, archiving) and works in it',
  editor: 'editor: adds datasets, launches instances, requests releases, spends project funds',
  viewer: 'viewer: sees the project and its outputs',
};

/** "an editor", "a viewer". */
export const withArticle = (role: MemberRole) => `${role === 'viewer' ? 'a' : 'an'} ${role}`;

/** A moment as the reader's locale writes it. */
export const when = (iso: string) => new Date(iso).toLocaleString();

/** A dataset version's access, in words for the project's members. */
export function accessWords(dataset: ProjectDataset): string {
  switch (dataset.status) {
    case 'attached':
      return dataset.access
        ? 'Attached: the project may use it'
        : 'Attached, but the project is archived: access has ended';
    case 'requested':
      return 'Requested: waiting for a reviewer';
    case 'refused':
      return 'Refused by a reviewer';
    case 'withdrawn':
      return 'Withdrawn (the project was archived before an answer)';
    default:
      return dataset.status satisfies never;
  }
}

type Activity = Project['activity'][number];

/** A string detail of an activity entry, or '' when it is absent or not a string. */
function detail(entry: Activity, name: string): string {
  const value = entry.details[name];
  return typeof value === 'string' ? value : '';
}

/**
 * The entry's target as a reader knows it: a member's name for `user:…`, the slug for
 * `dataset:…`; other targets (invitations, the project itself) are said by the action.
 */
function targetName(entry: Activity, members: Project['members']): string {
  const [kind, id = ''] = (entry.target ?? '').split(/:(.*)/u);
  if (kind === 'user') {
    return members.find((m) => m.userId === id)?.name ?? 'a former member';
  }
  return id;
}

/** What an activity entry did, as a sentence without its actor ("invited … as an editor"). */
export function activityWords(entry: Activity, members: Project['members']): string {
  const target = targetName(entry, members);
  const version = detail(entry, 'version');
  switch (entry.action) {
    case 'project.create':
      return `created the project "${detail(entry, 'title')}"`;
    case 'project.update':
      return 'changed the title or the research purpose';
    case 'project.attach_dataset':
      return `attached ${target} ${version}`;
    case 'access.request':
      return `requested ${target} ${version} (a reviewer answers)`;
    case 'access.approve':
      return `approved the request for ${target} ${version}: "${detail(entry, 'reason')}"`;
    case 'access.refuse':
      return `refused the request for ${target} ${version}: "${detail(entry, 'reason')}"`;
    case 'project.invite':
      return `invited ${detail(entry, 'email')} as ${roleWords(entry, 'role')}`;
    case 'project.revoke_invitation':
      return 'withdrew an invitation';
    case 'project.join':
      return `joined as ${roleWords(entry, 'role')}`;
    case 'project.change_role':
      return `made ${target} ${roleWords(entry, 'to')} (was ${roleWords(entry, 'from')})`;
    case 'project.remove_member':
      return `removed ${target} from the project`;
    case 'project.leave':
      return 'left the project';
    case 'project.transfer':
      return `made ${target} an owner and stayed on as an editor`;
    case 'project.archive':
      return 'archived the project';
    default:
      return entry.action;
  }
}

/** A role named in the entry's details, with its article ("an editor"). */
function roleWords(entry: Activity, name: string): string {
  const value = detail(entry, name);
  return isMemberRole(value) ? withArticle(value) : 'a member';
}

/** Who did it: the person's name, or the system. */
export const actorWords = (entry: Activity) =>
  entry.actorName ?? (entry.actor.startsWith('user:') ? 'a former user' : 'Lantern');
