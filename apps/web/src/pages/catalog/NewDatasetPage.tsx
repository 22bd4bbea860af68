import { MODALITIES, MODALITY_TITLES } from '@lantern/core/catalog';
import { ApiError, type Dataset, type DatasetInput } from '@lantern/sdk';
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { byField, Field, type Problems } from '../../components/Field.js';
import { Link } from '../../components/Link.js';
import { formText } from '../../session.js';
import { datasetPath, problemOf } from './catalog-text.js';

/**
 * What the catalog says of a dataset, field by field with the server's problems under each: the
 * new-dataset page's form, and the same fields (all but the slug) to edit the details later.
 */
export function DatasetForm({
  label,
  submit,
  initial,
  onSubmit,
  onDone,
}: {
  label: string;
  submit: string;
  /** The dataset being edited; without it, a new one (and a slug to choose). */
  initial?: Dataset;
  onSubmit: (input: DatasetInput) => Promise<Dataset>;
  onDone: (saved: Dataset) => void;
}) {
  const [categories, setCategories] = useState<{ slug: string; title: string }[] | null>(null);
  const [partners, setPartners] = useState(Math.max(1, initial?.partners.length ?? 0));
  const [authors, setAuthors] = useState(Math.max(1, initial?.authors.length ?? 0));
  const [problems, setProblems] = useState<Problems>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api
      .listDatasetCategories()
      .then(setCategories, (caught: unknown) => setGeneral(problemOf(caught)));
  }, []);

  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => formText(form, name);
    const doi = text('citation.doi').trim();
    const input: DatasetInput = {
      slug: initial?.slug ?? text('slug').trim(),
      title: text('title'),
      problem: text('problem'),
      category: text('category'),
      partners: Array.from({ length: partners }, (_, i) => ({
        name: text(`partners.${i}.name`),
        country: text(`partners.${i}.country`).trim().toUpperCase(),
        description: text(`partners.${i}.description`),
      })).filter((p) => p.name !== '' || p.country !== '' || p.description !== ''),
      authors: Array.from({ length: authors }, (_, i) => {
        const orcid = text(`authors.${i}.orcid`).trim();
        return { name: text(`authors.${i}.name`), ...(orcid === '' ? {} : { orcid }) };
      }).filter((a) => a.name !== '' || a.orcid !== undefined),
      citation: { text: text('citation.text'), ...(doi === '' ? {} : { doi }) },
      accessTier: text('accessTier') === 'approval' ? 'approval' : 'open',
      modalities: MODALITIES.filter((m) => form.getAll('modalities').includes(m)),
      tags: text('tags')
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    };
    setBusy(true);
    setProblems({});
    setGeneral(null);
    onSubmit(input).then(onDone, (caught: unknown) => {
      setBusy(false);
      if (caught instanceof ApiError && caught.problem.errors !== undefined) {
        setProblems(byField(caught));
        setGeneral('Some fields need another look; each says why.');
      } else {
        setGeneral(problemOf(caught));
      }
    });
  };

  const input = (type = 'text', defaultValue?: string) =>
    function Input(props: { id: string; name: string }) {
      return <input type={type} defaultValue={defaultValue} {...props} />;
    };

  return (
    <>
      {general !== null && (
        <p role="alert" className="bad">
          {general}
        </p>
      )}
      <form onSubmit={handleSubmit} noValidate aria-label={label}>
        {initial === undefined && (
          <Field
            name="slug"
            label="Slug (in URLs and folders, e.g. knee-emory-xray)"
            problems={problems}
          >
            {input()}
          </Field>
        )}
        <Field name="title" label="Title" problems={problems}>
          {input('text', initial?.title)}
        </Field>
        <Field name="problem" label="The medical problem, in one line" problems={problems}>
          {input('text', initial?.problem)}
        </Field>
        <Field name="category" label="Category" problems={problems}>
          {(props) =>
            // A new element once the categories are known, so that the dataset's own is selected.
            categories === null ? (
              <select key="loading" {...props} disabled>
                <option>Loading…</option>
              </select>
            ) : (
              <select key="loaded" {...props} defaultValue={initial?.category ?? ''}>
                <option value="" disabled>
                  Choose…
                </option>
                {categories.map((c) => (
                  <option key={c.slug} value={c.slug}>
                    {c.title}
                  </option>
                ))}
              </select>
            )
          }
        </Field>
        {Array.from({ length: partners }, (_, i) => (
          <fieldset key={`partner-${i}`}>
            <legend>Partner {i + 1}</legend>
            <Field name={`partners.${i}.name`} label="Partner name" problems={problems}>
              {input('text', initial?.partners[i]?.name)}
            </Field>
            <Field
              name={`partners.${i}.country`}
              label="Partner country (ISO code, e.g. US)"
              problems={problems}
            >
              {(props) => (
                <input
                  {...props}
                  maxLength={2}
                  autoComplete="off"
                  defaultValue={initial?.partners[i]?.country}
                />
              )}
            </Field>
            <Field name={`partners.${i}.description`} label="About the partner" problems={problems}>
              {(props) => (
                <textarea {...props} rows={2} defaultValue={initial?.partners[i]?.description} />
              )}
            </Field>
          </fieldset>
        ))}
        <button type="button" onClick={() => setPartners((n) => n + 1)}>
          Add a partner
        </button>
        {Array.from({ length: authors }, (_, i) => (
          <fieldset key={`author-${i}`}>
            <legend>Author {i + 1}</legend>
            <Field name={`authors.${i}.name`} label="Author name" problems={problems}>
              {input('text', initial?.authors[i]?.name)}
            </Field>
            <Field name={`authors.${i}.orcid`} label="ORCID iD (optional)" problems={problems}>
              {input('text', initial?.authors[i]?.orcid)}
            </Field>
          </fieldset>
        ))}
        <button type="button" onClick={() => setAuthors((n) => n + 1)}>
          Add an author
        </button>
        <Field name="citation.text" label="How to cite" problems={problems}>
          {(props) => <textarea {...props} rows={2} defaultValue={initial?.citation.text} />}
        </Field>
        <Field name="citation.doi" label="DOI (optional, e.g. 10.1234/abc)" problems={problems}>
          {input('text', initial?.citation.doi)}
        </Field>
        <fieldset>
          <legend>Access</legend>
          <label className="inline">
            <input
              type="radio"
              name="accessTier"
              value="open"
              defaultChecked={initial?.accessTier !== 'approval'}
            />{' '}
            Open to admitted researchers
          </label>
          <label className="inline">
            <input
              type="radio"
              name="accessTier"
              value="approval"
              defaultChecked={initial?.accessTier === 'approval'}
            />{' '}
            By approval
          </label>
        </fieldset>
        <fieldset
          aria-describedby={problems['modalities'] === undefined ? undefined : 'modalities-problem'}
        >
          <legend>What the dataset holds</legend>
          {MODALITIES.map((m) => (
            <label className="inline" key={m}>
              <input
                type="checkbox"
                name="modalities"
                value={m}
                defaultChecked={initial?.modalities.includes(m) === true}
              />{' '}
              {MODALITY_TITLES[m]}
            </label>
          ))}
          {problems['modalities'] !== undefined && (
            <p className="bad" id="modalities-problem">
              {problems['modalities']}
            </p>
          )}
        </fieldset>
        <Field name="tags" label="Tags (comma-separated, e.g. synthetic, knee)" problems={problems}>
          {input('text', initial?.tags.join(', '))}
        </Field>
        <button type="submit" disabled={busy}>
          {submit}
        </button>
      </form>
    </>
  );
}

/** /datasets/new (curators): what the catalog says of a new dataset; an empty draft comes with it. */
export function NewDatasetPage({ navigate }: { navigate: (to: string) => void }) {
  return (
    <section aria-labelledby="new-dataset-title" className="narrow wide">
      <h1 id="new-dataset-title">New dataset</h1>
      <p className="muted">
        What the catalog says of it. Tables, dictionary and documentation go in its draft next.
      </p>
      <DatasetForm
        label="New dataset"
        submit="Create dataset"
        onSubmit={(input) => api.createDataset(input)}
        onDone={(made) => navigate(`${datasetPath(made.slug)}/draft`)}
      />
    </section>
  );
}

/** /datasets/:slug/edit (curators): the dataset's details after creation, the same fields. */
export function EditDatasetPage({
  slug,
  navigate,
}: {
  slug: string;
  navigate: (to: string) => void;
}) {
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.getDataset(slug).then(setDataset, (caught: unknown) => setError(problemOf(caught)));
  }, [slug]);
  if (dataset === null) {
    return error === null ? <p role="status">Loading…</p> : <p role="alert">{error}</p>;
  }
  return (
    <section aria-labelledby="edit-dataset-title" className="narrow wide">
      <p>
        <Link to={datasetPath(slug)} navigate={navigate}>
          Back to {dataset.title}
        </Link>
      </p>
      <h1 id="edit-dataset-title">Edit the details of {dataset.title}</h1>
      <p className="muted">
        What the catalog says of the dataset, for every version. The slug stays as it is.
      </p>
      <DatasetForm
        label="Dataset details"
        submit="Save details"
        initial={dataset}
        onSubmit={({ slug: _slug, ...details }) => api.updateDataset(slug, details)}
        onDone={() => navigate(datasetPath(slug))}
      />
    </section>
  );
}
