import { MEMBER_ROLES, type MemberRole, type ProjectAction } from '@lantern/core/projects';
import { ApiError, type Instance, type Project, type ProjectMember } from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { byField, Field, type Problems } from '../../components/Field.js';
import { Link } from '../../components/Link.js';
import { Said, type Message } from '../../components/Said.js';
import { asSentence, formText, useSession } from '../../session.js';
import { datasetPath, day, problemOf } from '../catalog/catalog-text.js';
import { DatasetPicker, type ChosenDataset } from './DatasetPicker.js';
import { ReleasesSection } from '../releases/ReleasesSection.js';
import { InstancesSection } from './InstancesSection.js';
import { SpendSection } from './SpendSection.js';
import {
  accessWords,
  activityWords,
  actorWords,
  ROLE_WORDS,
  when,
  withArticle,
} from './project-text.js';

/** How long after a change the page reads the project again, for the activity feed. */
const FEED_CATCH_UP_MS = 1_000;

/**
 * Runs one change of the project through the server and shows its answer: the project as it is
 * after the change, or the server's refusal (the last owner kept, an archived project, …).
 */
function useChange(onProject: (project: Project) => void) {
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    (
      change: () => Promise<Project | undefined>,
      done: string,
      say: (message: Message) => void,
    ): Promise<boolean> => {
      setBusy(true);
      say(null);
      return change().then(
        (project) => {
          setBusy(false);
          if (project !== undefined) {
            onProject(project);
          }
          say({ text: done, bad: false });
          return true;
        },
        (caught: unknown) => {
          setBusy(false);
          say({ text: asSentence(problemOf(caught)), bad: true });
          return false;
        },
      );
    },
    [onProject],
  );
  return { busy, run };
}

/** One member: name, address, role; owners change the role, remove, or hand over ownership. */
function MemberRow({
  project,
  member,
  me,
  busy,
  onRole,
  onRemove,
  onTransfer,
}: {
  project: Project;
  member: ProjectMember;
  me: string | undefined;
  busy: boolean;
  onRole: (member: ProjectMember, role: MemberRole) => void;
  onRemove: (member: ProjectMember) => void;
  onTransfer: (member: ProjectMember) => void;
}) {
  const [role, setRole] = useState<MemberRole>(member.role);
  const may = (action: ProjectAction) => project.may.includes(action);
  const isMe = member.userId === me;
  return (
    <tr data-testid={`member-${member.email}`}>
      <th scope="row">
        {member.name}
        {isMe && ' (you)'}
        {!member.active && <span className="badge retired">suspended</span>}
      </th>
      <td>{member.email}</td>
      <td data-testid="member-role">{member.role}</td>
      <td>{day(member.joinedAt)}</td>
      {(may('project.change_role') || may('project.remove_member') || may('project.transfer')) && (
        <td className="member-actions">
          {may('project.change_role') && (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                onRole(member, role);
              }}
            >
              <label className="inline" htmlFor={`role-${member.userId}`}>
                Role of {member.name}
              </label>{' '}
              <select
                id={`role-${member.userId}`}
                value={role}
                onChange={(e) =>
                  setRole(MEMBER_ROLES.find((r) => r === e.target.value) ?? member.role)
                }
              >
                {MEMBER_ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>{' '}
              <button type="submit" disabled={busy || role === member.role}>
                Change role
              </button>
            </form>
          )}
          {may('project.transfer') && !isMe && member.role !== 'owner' && (
            <button type="button" disabled={busy} onClick={() => onTransfer(member)}>
              Make {member.name} the owner
            </button>
          )}{' '}
          {may('project.remove_member') && !isMe && (
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => onRemove(member)}
            >
              Remove {member.name}
            </button>
          )}
        </td>
      )}
    </tr>
  );
}

/** The members, the invitation form and the open invitations. */
function MembersSection({
  project,
  onProject,
}: {
  project: Project;
  onProject: (project: Project) => void;
}) {
  const { user } = useSession();
  const [message, setMessage] = useState<Message>(null);
  const { busy, run } = useChange(onProject);
  const may = (action: ProjectAction) => project.may.includes(action);
  const owners =
    may('project.change_role') || may('project.remove_member') || may('project.transfer');

  const handleRole = (member: ProjectMember, role: MemberRole) => {
    const question =
      member.userId === user?.id
        ? `Make yourself ${withArticle(role)} of "${project.title}"? You can no longer manage members or archive the project unless another owner makes you an owner again.`
        : `Make ${member.name} ${withArticle(role)} of "${project.title}"? (${ROLE_WORDS[role]})`;
    if (window.confirm(question)) {
      void run(
        () => api.changeProjectMemberRole(project.id, member.userId, role),
        `${member.name} is now ${withArticle(role)}.`,
        setMessage,
      );
    }
  };
  const handleRemove = (member: ProjectMember) => {
    if (
      window.confirm(
        `Remove ${member.name} from "${project.title}"? They lose access to the project at once; they can be invited again.`,
      )
    ) {
      void run(
        () => api.removeProjectMember(project.id, member.userId),
        `${member.name} is no longer a member.`,
        setMessage,
      );
    }
  };
  const handleTransfer = (member: ProjectMember) => {
    if (
      window.confirm(
        `Make ${member.name} the owner of "${project.title}"? You stay on as an editor and can no longer manage members or archive the project.`,
      )
    ) {
      void run(
        () => api.transferProjectOwnership(project.id, member.userId),
        `${member.name} is now an owner; you are an editor.`,
        setMessage,
      );
    }
  };

  return (
    <section aria-labelledby="members-title" className="panel">
      <h2 id="members-title">Members</h2>
      <Said message={message} testId="members-message" />
      <table className="checks" data-testid="members">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Joined</th>
            {owners && <th scope="col">Manage</th>}
          </tr>
        </thead>
        <tbody>
          {project.members.map((member) => (
            <MemberRow
              key={`${member.userId}-${member.role}`}
              project={project}
              member={member}
              me={user?.id}
              busy={busy}
              onRole={handleRole}
              onRemove={handleRemove}
              onTransfer={handleTransfer}
            />
          ))}
        </tbody>
      </table>
      {may('project.invite') && <InviteForm project={project} onProject={onProject} />}
      {project.invitations.length > 0 && <Invitations project={project} onProject={onProject} />}
    </section>
  );
}

/** Owners invite by email with a role; the server's problem shows under the address. */
function InviteForm({
  project,
  onProject,
}: {
  project: Project;
  onProject: (project: Project) => void;
}) {
  const [problems, setProblems] = useState<Problems>({});
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);
  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const target = event.currentTarget;
    const form = new FormData(target);
    const role = MEMBER_ROLES.find((r) => r === formText(form, 'role')) ?? 'viewer';
    setBusy(true);
    setProblems({});
    setMessage(null);
    api
      .inviteToProject(project.id, { email: formText(form, 'email'), role })
      .then(async (invitation) => {
        target.reset();
        setMessage({
          text: `Invitation emailed to ${invitation.email} as ${withArticle(invitation.role)}; the link works once, until ${when(invitation.expiresAt)}.`,
          bad: false,
        });
        onProject(await api.getProject(project.id));
      })
      .catch((caught: unknown) => {
        if (caught instanceof ApiError && caught.problem.errors !== undefined) {
          setProblems(byField(caught));
        } else {
          setMessage({ text: problemOf(caught), bad: true });
        }
      })
      .finally(() => setBusy(false));
  };
  return (
    <form onSubmit={handleSubmit} noValidate aria-label="Invite a collaborator" className="invite">
      <h3>Invite a collaborator</h3>
      <Said message={message} testId="invite-message" />
      <Field name="email" label="Email address" problems={problems}>
        {(props) => <input {...props} type="email" autoComplete="off" />}
      </Field>
      <Field name="role" label="Role" problems={problems}>
        {(props) => (
          <select {...props} defaultValue="viewer">
            {MEMBER_ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_WORDS[r]}
              </option>
            ))}
          </select>
        )}
      </Field>
      <p className="muted">
        They get an email with a link that works once, for seven days. Someone without an account
        registers with this address and is admitted first.
      </p>
      <button type="submit" disabled={busy}>
        Send the invitation
      </button>
    </form>
  );
}

/** Invitations not yet accepted: open ones can be withdrawn by owners. */
function Invitations({
  project,
  onProject,
}: {
  project: Project;
  onProject: (project: Project) => void;
}) {
  const [message, setMessage] = useState<Message>(null);
  const { busy, run } = useChange(onProject);
  const revokes = project.may.includes('project.revoke_invitation');
  const handleRevoke = (id: string, email: string) => {
    if (window.confirm(`Withdraw the invitation to ${email}? Its link stops working.`)) {
      void run(
        async () => {
          await api.revokeProjectInvitation(project.id, id);
          return api.getProject(project.id);
        },
        `The invitation to ${email} is withdrawn.`,
        setMessage,
      );
    }
  };
  return (
    <>
      <h3>Invitations</h3>
      <Said message={message} testId="invitations-message" />
      <ul data-testid="invitations">
        {project.invitations.map((inv) => (
          <li key={inv.id}>
            {inv.email}, as {withArticle(inv.role)} —{' '}
            {inv.state === 'pending' ? `open until ${when(inv.expiresAt)}` : inv.state}{' '}
            {revokes && inv.state === 'pending' && (
              <button type="button" disabled={busy} onClick={() => handleRevoke(inv.id, inv.email)}>
                Withdraw the invitation to {inv.email}
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

/** Datasets and versions with their access; newer versions offered with their change logs. */
function DatasetsSection({
  project,
  onProject,
  navigate,
}: {
  project: Project;
  onProject: (project: Project) => void;
  navigate: (to: string) => void;
}) {
  const [message, setMessage] = useState<Message>(null);
  const [chosen, setChosen] = useState<ChosenDataset[]>([]);
  const [adding, setAdding] = useState(false);
  const { busy, run } = useChange(onProject);
  const adds = project.may.includes('project.add_dataset');

  const handleTake = (slug: string, version: string) => {
    void run(
      () => api.addProjectDataset(project.id, { slug, version }),
      `Version ${version} of ${slug} taken.`,
      setMessage,
    );
  };
  const handleAdd = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void run(
      async () => {
        let latest: Project | undefined;
        for (const pick of chosen) {
          latest = await api.addProjectDataset(project.id, pick);
        }
        return latest;
      },
      'Added: open datasets are attached, requests went to a reviewer.',
      setMessage,
    ).then((done) => {
      if (done) {
        setChosen([]);
        setAdding(false);
      }
    });
  };

  return (
    <section aria-labelledby="datasets-title" className="panel">
      <h2 id="datasets-title">Datasets</h2>
      <Said message={message} testId="datasets-message" />
      {project.datasets.length === 0 ? (
        <p data-testid="datasets-empty">The project has no datasets yet.</p>
      ) : (
        <table className="checks" data-testid="project-datasets">
          <thead>
            <tr>
              <th scope="col">Dataset</th>
              <th scope="col">Version</th>
              <th scope="col">Access</th>
            </tr>
          </thead>
          <tbody>
            {project.datasets.map((d) => (
              <tr key={d.id} data-testid={`access-${d.slug}-${d.version}`}>
                <th scope="row">
                  <Link to={datasetPath(d.slug, d.version)} navigate={navigate}>
                    {d.title}
                  </Link>
                </th>
                <td>
                  {d.version}
                  {d.versionStatus === 'retired' && <span className="badge retired">retired</span>}
                </td>
                <td>
                  <span data-testid="access-status">{accessWords(d)}</span>
                  {d.reason !== null && (
                    <span className="muted" data-testid="access-reason">
                      {' '}
                      — the reviewer's reason: {d.reason}
                    </span>
                  )}
                  {d.decidedAt !== null && <span className="muted"> ({day(d.decidedAt)})</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {project.offers.length > 0 && (
        <div data-testid="offers">
          <h3>Newer versions offered</h3>
          <p className="muted">
            The project keeps the versions it has; take a newer one when its changes suit you.
          </p>
          {project.offers.map((offer) => (
            <article key={`${offer.slug}@${offer.version}`} className="offer">
              <h4>
                {offer.title}, version {offer.version}
                {offer.publishedAt !== null && ` (published ${day(offer.publishedAt)})`}
              </h4>
              {offer.notes !== '' && <p>{offer.notes}</p>}
              {offer.changeLog.length === 0 ? (
                <p className="muted">No change to the tables.</p>
              ) : (
                <ul aria-label={`Change log of ${offer.slug} ${offer.version}`}>
                  {offer.changeLog.map((entry, i) => (
                    <li key={i}>{entry.text}</li>
                  ))}
                </ul>
              )}
              {adds && (
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => handleTake(offer.slug, offer.version)}
                >
                  Take version {offer.version} of {offer.title}
                </button>
              )}
            </article>
          ))}
        </div>
      )}
      {adds &&
        (adding ? (
          <form onSubmit={handleAdd} aria-label="Add datasets">
            <h3>Add datasets</h3>
            <DatasetPicker
              chosen={chosen}
              onChange={setChosen}
              problems={{}}
              exclude={project.datasets.map((d) => `${d.slug}@${d.version}`)}
            />
            <button type="submit" disabled={busy || chosen.length === 0}>
              Add to the project
            </button>{' '}
            <button type="button" onClick={() => setAdding(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <button type="button" onClick={() => setAdding(true)}>
            Add datasets
          </button>
        ))}
    </section>
  );
}

/** Who did what, when: the project's changes from the audit log, newest first. */
function ActivitySection({ project }: { project: Project }) {
  return (
    <section aria-labelledby="activity-title" className="panel">
      <h2 id="activity-title">Activity</h2>
      {project.activity.length === 0 ? (
        <p>Nothing has happened yet.</p>
      ) : (
        <ol className="activity" data-testid="activity">
          {project.activity.map((entry) => (
            <li key={entry.seq}>
              <time dateTime={entry.time}>{when(entry.time)}</time>{' '}
              <strong>{actorWords(entry)}</strong> {activityWords(entry, project.members)}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** Leaving (any member) and archiving (owners), each behind a confirmation. */
function ProjectActions({
  project,
  onProject,
  navigate,
}: {
  project: Project;
  onProject: (project: Project) => void;
  navigate: (to: string) => void;
}) {
  const [message, setMessage] = useState<Message>(null);
  const { busy, run } = useChange(onProject);
  const handleLeave = () => {
    if (
      window.confirm(
        `Leave "${project.title}"? You lose access to it at once; an owner can invite you again.`,
      )
    ) {
      void run(
        async () => {
          await api.leaveProject(project.id);
          return undefined;
        },
        'You left the project.',
        setMessage,
      ).then((left) => {
        if (left) {
          navigate('/projects');
        }
      });
    }
  };
  const handleArchive = () => {
    if (
      window.confirm(
        `Archive "${project.title}"? Its instances stop and its access to datasets ends; open invitations and access requests are withdrawn. Nothing is deleted: the record stays and members can still read it. This cannot be undone.`,
      )
    ) {
      void run(() => api.archiveProject(project.id), 'The project is archived.', setMessage);
    }
  };
  const leaves = project.may.includes('project.leave');
  const archives = project.may.includes('project.archive');
  if (!leaves && !archives && message === null) {
    return null;
  }
  return (
    <section aria-labelledby="leave-title" className="panel">
      <h2 id="leave-title">Leave or archive</h2>
      <Said message={message} testId="project-actions-message" />
      {leaves && (
        <p>
          <button type="button" disabled={busy} onClick={handleLeave}>
            Leave the project
          </button>{' '}
          <span className="muted">
            A project always keeps an owner: the last one hands over first.
          </span>
        </p>
      )}
      {archives && (
        <p>
          <button type="button" className="danger" disabled={busy} onClick={handleArchive}>
            Archive the project
          </button>{' '}
          <span className="muted">Instances stop and data access ends; nothing is deleted.</span>
        </p>
      )}
    </section>
  );
}

/** Owners and editors change the title or the research purpose. */
function EditDetails({
  project,
  onProject,
}: {
  project: Project;
  onProject: (project: Project) => void;
}) {
  const [problems, setProblems] = useState<Problems>({});
  const [message, setMessage] = useState<Message>(null);
  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setProblems({});
    setMessage(null);
    api
      .updateProject(project.id, {
        title: formText(form, 'title'),
        purpose: formText(form, 'purpose'),
      })
      .then(
        (updated) => {
          onProject(updated);
          setMessage({ text: 'Saved.', bad: false });
        },
        (caught: unknown) => {
          if (caught instanceof ApiError && caught.problem.errors !== undefined) {
            setProblems(byField(caught));
          } else {
            setMessage({ text: problemOf(caught), bad: true });
          }
        },
      );
  };
  return (
    <details className="edit-project">
      <summary>Edit the title or the research purpose</summary>
      <form onSubmit={handleSubmit} noValidate aria-label="Project details">
        <Said message={message} testId="details-message" />
        <Field name="title" label="Title" problems={problems}>
          {(props) => <input {...props} defaultValue={project.title} />}
        </Field>
        <Field
          name="purpose"
          label="Research purpose (shown to reviewers and partners)"
          problems={problems}
        >
          {(props) => <textarea {...props} rows={4} defaultValue={project.purpose} />}
        </Field>
        <button type="submit">Save the details</button>
      </form>
    </details>
  );
}

/**
 * /projects/:id: everything a member sees of a project — its purpose, members and invitations,
 * datasets and versions with their access and the newer versions offered, its notebook instances,
 * its release requests, and its activity.
 * Controls follow `may` (the server's answer of what this member may do now), so a viewer sees
 * none they cannot use; the server decides again on every request.
 */
export function ProjectPage({ id, navigate }: { id: string; navigate: (to: string) => void }) {
  const { user } = useSession();
  const [project, setProject] = useState<Project | null>(null);
  const [error, setError] = useState<string | null>(null);

  const [changes, setChanges] = useState(0);
  const handleProject = useCallback((changed: Project) => {
    setProject(changed);
    setChanges((n) => n + 1);
  }, []);
  // The spend is read again when an instance appears or moves (starts running, stops).
  const [instancesKey, setInstancesKey] = useState('');
  const handleInstances = useCallback((instances: Instance[]) => {
    setInstancesKey(instances.map((i) => `${i.id}:${i.state}`).join(','));
  }, []);

  useEffect(() => {
    if (user === undefined) {
      return;
    }
    let live = true;
    api.getProject(id).then(
      (found) => live && setProject(found),
      (caught: unknown) => live && setError(problemOf(caught)),
    );
    return () => {
      live = false;
    };
  }, [id, user]);

  // The server seals audit events onto its chain a moment after each change (every 200 ms by
  // default), and the feed is read from sealed events: the page reads the project once more a
  // second after it opens or changes, so that the latest entries show without a reload.
  useEffect(() => {
    if (user === undefined) {
      return;
    }
    let live = true;
    const timer = window.setTimeout(() => {
      api.getProject(id).then(
        (found) => live && setProject(found),
        () => undefined,
      );
    }, FEED_CATCH_UP_MS);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [id, user, changes]);

  if (project === null) {
    return error === null ? (
      <p role="status">Loading…</p>
    ) : (
      <section aria-labelledby="project-title">
        <h1 id="project-title">Project</h1>
        <p role="alert" className="bad" data-testid="project-problem">
          {error}
        </p>
        <p>
          <Link to="/projects" navigate={navigate}>
            Your projects
          </Link>
        </p>
      </section>
    );
  }
  return (
    <article aria-labelledby="project-title" className="project">
      <p>
        <Link to="/projects" navigate={navigate}>
          Your projects
        </Link>
      </p>
      <h1 id="project-title">
        {project.title}{' '}
        {project.status === 'archived' && <span className="badge retired">archived</span>}
      </h1>
      <p data-testid="my-role">
        You are {withArticle(project.role)} of this project
        {project.status === 'archived' && project.archivedAt !== null
          ? `; it was archived ${day(project.archivedAt)} and takes no changes`
          : ''}
        .
      </p>
      <h2 className="purpose-title">Research purpose</h2>
      <p className="purpose" data-testid="purpose">
        {project.purpose}
      </p>
      {project.may.includes('project.update') && (
        <EditDetails key={project.updatedAt} project={project} onProject={handleProject} />
      )}
      <MembersSection project={project} onProject={handleProject} />
      <DatasetsSection project={project} onProject={handleProject} navigate={navigate} />
      <InstancesSection project={project} onInstances={handleInstances} />
      <ReleasesSection projectId={project.id} navigate={navigate} />
      <SpendSection projectId={project.id} instancesKey={instancesKey} />
      <ActivitySection project={project} />
      <ProjectActions project={project} onProject={handleProject} navigate={navigate} />
      <p className="muted">Created {day(project.createdAt)}.</p>
    </article>
  );
}
