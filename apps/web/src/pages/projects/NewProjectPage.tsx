import { ApiError } from '@lantern/sdk';
import { useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { byField, Field, type Problems } from '../../components/Field.js';
import { Link } from '../../components/Link.js';
import { can, formText, useSession } from '../../session.js';
import { problemOf } from '../catalog/catalog-text.js';
import { DatasetPicker, type ChosenDataset } from './DatasetPicker.js';
import { projectPath } from './project-text.js';
import { ProjectsClosed } from './ProjectsPage.js';

/**
 * /projects/new: a title, the research purpose (reviewers and partners read it) and the datasets
 * the project needs, each at a version. The creator is its owner; open datasets attach at once,
 * approval ones go to a reviewer. The server's problems show under the fields they are about.
 */
export function NewProjectPage({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
  const [chosen, setChosen] = useState<ChosenDataset[]>([]);
  const [problems, setProblems] = useState<Problems>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!can(user, 'project.work')) {
    return (
      <section aria-labelledby="new-project-title">
        <h1 id="new-project-title">New project</h1>
        <ProjectsClosed navigate={navigate} />
      </section>
    );
  }

  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setProblems({});
    setGeneral(null);
    api
      .createProject({
        title: formText(form, 'title'),
        purpose: formText(form, 'purpose'),
        datasets: chosen,
      })
      .then(
        (made) => navigate(projectPath(made.id)),
        (caught: unknown) => {
          setBusy(false);
          if (caught instanceof ApiError && caught.problem.errors !== undefined) {
            setProblems(byField(caught));
            setGeneral('Some fields need another look; each says why.');
          } else {
            setGeneral(problemOf(caught));
          }
        },
      );
  };

  return (
    <section aria-labelledby="new-project-title" className="narrow wide">
      <p>
        <Link to="/projects" navigate={navigate}>
          Your projects
        </Link>
      </p>
      <h1 id="new-project-title">New project</h1>
      <p className="muted">You will be its owner, and can invite colleagues once it exists.</p>
      {general !== null && (
        <p role="alert" className="bad" data-testid="new-project-problem">
          {general}
        </p>
      )}
      <form onSubmit={handleSubmit} noValidate aria-label="New project">
        <Field name="title" label="Title" problems={problems}>
          {(props) => <input {...props} maxLength={200} autoComplete="off" />}
        </Field>
        <Field
          name="purpose"
          label="Research purpose (shown to reviewers and partners: what the project studies and why)"
          problems={problems}
        >
          {(props) => <textarea {...props} rows={4} maxLength={5000} />}
        </Field>
        <fieldset>
          <legend>Datasets the project needs</legend>
          <p className="muted">
            Access is per dataset and version. Open datasets are attached at once; for those by
            approval, a request with your research purpose goes to a reviewer.
          </p>
          <DatasetPicker chosen={chosen} onChange={setChosen} problems={problems} />
          {problems['datasets'] !== undefined && (
            <p className="field-problem bad">{problems['datasets']}</p>
          )}
        </fieldset>
        <button type="submit" disabled={busy}>
          Create the project
        </button>
      </form>
    </section>
  );
}
