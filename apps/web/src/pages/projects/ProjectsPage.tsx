import type { ProjectSummary } from '@lantern/sdk';
import { useEffect, useState } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { can, useSession } from '../../session.js';
import { problemOf } from '../catalog/catalog-text.js';
import { projectPath } from './project-text.js';

/** Said instead of a page to people who cannot work in projects yet, and why. */
export function ProjectsClosed({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
  if (user === undefined) {
    return <p role="status">Loading…</p>;
  }
  return (
    <p data-testid="projects-closed">
      {user === null ? (
        <>
          <Link to="/sign-in?next=/projects" navigate={navigate}>
            Sign in
          </Link>{' '}
          to see your projects.
        </>
      ) : (
        'Projects are for admitted researchers: once reviewers admit you, you can create and join them.'
      )}
    </p>
  );
}

/**
 * /projects: the projects the signed-in person is a member of (title, their role, datasets,
 * status), newest first, and the way to create one; an empty state that invites the first.
 */
export function ProjectsPage({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
  const [projects, setProjects] = useState<ProjectSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const allowed = can(user, 'project.work');

  useEffect(() => {
    if (!allowed) {
      return;
    }
    api.listMyProjects().then(setProjects, (caught: unknown) => setError(problemOf(caught)));
  }, [allowed]);

  if (!allowed) {
    return (
      <section aria-labelledby="projects-title">
        <h1 id="projects-title">Projects</h1>
        <ProjectsClosed navigate={navigate} />
      </section>
    );
  }
  return (
    <section aria-labelledby="projects-title">
      <h1 id="projects-title">Projects</h1>
      <p className="muted">
        Research is done in projects: they gather people, and the datasets they may use.
      </p>
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}
      {projects === null && error === null && <p role="status">Loading…</p>}
      {projects !== null && projects.length === 0 && (
        <div className="panel" data-testid="projects-empty">
          <p>You are not in any project yet.</p>
          <p>
            Create one with a research purpose and the datasets it needs, then invite your
            colleagues. If someone invited you, open the link in their email.
          </p>
        </div>
      )}
      {projects !== null && (
        <p>
          <Link to="/projects/new" navigate={navigate}>
            {projects.length === 0 ? 'Create your first project' : 'New project'}
          </Link>
        </p>
      )}
      {projects !== null && projects.length > 0 && (
        <table className="checks" data-testid="projects">
          <caption className="muted">Your projects, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Your role</th>
              <th scope="col">Datasets</th>
              <th scope="col">Members</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {projects.map((p) => (
              <tr key={p.id} data-testid={`project-${p.id}`}>
                <th scope="row">
                  <Link to={projectPath(p.id)} navigate={navigate}>
                    {p.title}
                  </Link>
                </th>
                <td>{p.role}</td>
                <td>{p.datasets}</td>
                <td>{p.members}</td>
                <td>{p.status === 'archived' ? 'archived' : 'active'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
