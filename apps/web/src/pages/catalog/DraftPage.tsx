import {
  COLUMN_TYPES,
  DEIDENTIFICATION_METHODS,
  FIXED_SECTION_TITLES,
  FIXED_SECTIONS,
  type DeidentificationMethod,
  type FixedSection,
} from '@lantern/core/catalog';
import {
  ApiError,
  type DatasetDictionary,
  type DatasetDocumentation,
  type DatasetVersion,
  type HeldReview,
  type PhiReview,
  type PublicationPreview,
} from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { Markdown } from '../../components/Markdown.js';
import { can, formText, useSession } from '../../session.js';
import { datasetPath, problemOf } from './catalog-text.js';
import { HeldFilesSection, type DecideHeld } from './HeldFiles.js';
import { PhiReviewSection, type Decide } from './PhiReview.js';

type Table = DatasetVersion['snapshot']['tables'][number];
type Change = (work: () => Promise<DatasetVersion>, done: string) => Promise<boolean>;

const isFixed = (kind: string): kind is FixedSection =>
  (FIXED_SECTIONS as readonly string[]).includes(kind);

/** The documentation, a textarea per section with its rendered preview beside it. */
function DocumentationEditor({
  slug,
  draft,
  change,
}: {
  slug: string;
  draft: DatasetVersion;
  change: Change;
}) {
  const [fixed, setFixed] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      draft.documentation.filter((s) => isFixed(s.kind)).map((s) => [s.kind, s.markdown]),
    ),
  );
  const [free, setFree] = useState(() =>
    draft.documentation
      .filter((s) => !isFixed(s.kind))
      .map((s) => ({ title: s.title, markdown: s.markdown })),
  );
  const handleSave = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    // Empty sections are left out, so the dataset's page has no empty tabs.
    const sections: DatasetDocumentation = [
      ...FIXED_SECTIONS.filter((kind) => (fixed[kind] ?? '').trim() !== '').map((kind) => ({
        kind,
        markdown: fixed[kind] ?? '',
      })),
      ...free
        .filter((s) => s.title.trim() !== '' || s.markdown.trim() !== '')
        .map((s) => ({ kind: 'free' as const, title: s.title, markdown: s.markdown })),
    ];
    void change(() => api.setDraftDocumentation(slug, sections), 'Documentation saved.');
  };
  const editor = (id: string, label: string, value: string, onChange: (value: string) => void) => (
    <div className="editor" key={id}>
      <label htmlFor={id}>
        {label} (Markdown)
        <textarea id={id} rows={6} value={value} onChange={(e) => onChange(e.target.value)} />
      </label>
      <div>
        <p className="label">Preview</p>
        <div className="preview" data-testid={`preview-${id}`}>
          <Markdown source={value} />
        </div>
      </div>
    </div>
  );
  return (
    <form onSubmit={handleSave} aria-label="Documentation">
      {FIXED_SECTIONS.map((kind) =>
        editor(`doc-${kind}`, FIXED_SECTION_TITLES[kind], fixed[kind] ?? '', (value) =>
          setFixed((was) => ({ ...was, [kind]: value })),
        ),
      )}
      {free.map((section, i) => (
        <fieldset key={`free-${i}`}>
          <legend>Other section {i + 1}</legend>
          <label>
            Title
            <input
              value={section.title}
              onChange={(e) =>
                setFree((was) => was.map((s, j) => (j === i ? { ...s, title: e.target.value } : s)))
              }
            />
          </label>
          {editor(`doc-free-${i}`, section.title || 'Text', section.markdown, (value) =>
            setFree((was) => was.map((s, j) => (j === i ? { ...s, markdown: value } : s))),
          )}
        </fieldset>
      ))}
      <button type="button" onClick={() => setFree((was) => [...was, { title: '', markdown: '' }])}>
        Add a section
      </button>{' '}
      <button type="submit">Save documentation</button>
    </form>
  );
}

/** Upload a table as CSV: its columns, types and rows are read by the server. */
function UploadTable({ slug, change }: { slug: string; change: Change }) {
  const [uploading, setUploading] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const handleUpload = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const file = form.get('csv');
    const table = formText(form, 'table').trim();
    if (!(file instanceof File) || file.size === 0 || table === '') {
      return;
    }
    const where = formText(form, 'path').trim() || `tables/${table}.csv`;
    setUploading(`${file.name} (${Math.ceil(file.size / 1024)} KB)`);
    void change(() => api.uploadDraftTable(slug, table, where, file), `Table ${table} read.`).then(
      (ok) => {
        setUploading(null);
        if (ok) {
          formElement.reset();
          setName('');
          setPath('');
        }
      },
    );
  };
  return (
    <form onSubmit={handleUpload} aria-label="Upload a table" className="panel">
      <h3>Upload a table (CSV)</h3>
      {/* Disabled while a file is on its way: the form is emptied once it is read. */}
      <fieldset className="plain" disabled={uploading !== null}>
        <label>
          Table name
          <input name="table" value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          Path in the version folder
          <input
            name="path"
            value={path}
            placeholder={name === '' ? 'tables/<name>.csv' : `tables/${name}.csv`}
            onChange={(e) => setPath(e.target.value)}
          />
        </label>
        <label>
          CSV file
          <input name="csv" type="file" accept=".csv,text/csv" required />
        </label>
      </fieldset>
      {uploading !== null && (
        <p role="status">
          <progress aria-label={`Uploading ${uploading}`} /> Uploading {uploading}…
        </p>
      )}
      <button type="submit" disabled={uploading !== null}>
        Upload
      </button>
    </form>
  );
}

/** One table of the draft: what was read from its file, its keys, and a way to remove it. */
function TableKeys({
  slug,
  table,
  tables,
  change,
}: {
  slug: string;
  table: Table;
  tables: readonly Table[];
  change: Change;
}) {
  const [foreignKeys, setForeignKeys] = useState(table.foreignKeys);
  const [target, setTarget] = useState(tables.find((t) => t.name !== table.name)?.name ?? '');
  const handleSave = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const primaryKey = table.columns
      .filter((c) => form.get(`pk-${c.name}`) === 'on')
      .map((c) => c.name);
    void change(
      () => api.setDraftTableKeys(slug, table.name, { primaryKey, foreignKeys }),
      `Keys of ${table.name} saved.`,
    );
  };
  const handleAddKey = (event: FormEvent<HTMLButtonElement>) => {
    const form = event.currentTarget.form;
    if (form === null) {
      return;
    }
    const data = new FormData(form);
    const column = formText(data, 'fk-column');
    const references = formText(data, 'fk-references');
    if (column !== '' && target !== '' && references !== '') {
      setForeignKeys((was) => [
        ...was,
        { columns: [column], references: { table: target, columns: [references] } },
      ]);
    }
  };
  const handleRemove = () => {
    if (window.confirm(`Remove the table ${table.name} from the draft?`)) {
      void change(() => api.removeDraftTable(slug, table.name), `Table ${table.name} removed.`);
    }
  };
  const targetTable = tables.find((t) => t.name === target);
  return (
    <section
      className="panel"
      aria-labelledby={`draft-table-${table.name}`}
      data-testid={`draft-table-${table.name}`}
    >
      <h3 id={`draft-table-${table.name}`}>{table.name}</h3>
      <p className="muted">
        <code>{table.file}</code> · {table.rowCount.toLocaleString('en')}{' '}
        {table.rowCount === 1 ? 'row' : 'rows'} · columns read:{' '}
        {table.columns
          .map((c) => `${c.name} (${c.type}${c.nullable ? ', may be empty' : ''})`)
          .join(', ')}
      </p>
      <form onSubmit={handleSave} aria-label={`Keys of ${table.name}`}>
        <fieldset>
          <legend>Primary key of {table.name}</legend>
          {table.columns.map((c) => (
            <label key={c.name} className="inline">
              <input
                type="checkbox"
                name={`pk-${c.name}`}
                defaultChecked={table.primaryKey.includes(c.name)}
              />{' '}
              {c.name}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Foreign keys of {table.name}</legend>
          {foreignKeys.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul>
              {foreignKeys.map((key, i) => {
                const text = `(${key.columns.join(', ')}) -> ${key.references.table} (${key.references.columns.join(', ')})`;
                return (
                  <li key={text}>
                    {text}{' '}
                    <button
                      type="button"
                      aria-label={`remove foreign key ${text}`}
                      onClick={() => setForeignKeys((was) => was.filter((_, j) => j !== i))}
                    >
                      Remove
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          {tables.length > 1 && (
            <div className="filters">
              <label>
                Column
                <select name="fk-column">
                  {table.columns.map((c) => (
                    <option key={c.name}>{c.name}</option>
                  ))}
                </select>
              </label>
              <label>
                References table
                <select value={target} onChange={(e) => setTarget(e.target.value)}>
                  {tables
                    .filter((t) => t.name !== table.name)
                    .map((t) => (
                      <option key={t.name}>{t.name}</option>
                    ))}
                </select>
              </label>
              <label>
                Referenced column
                <select name="fk-references" key={target}>
                  {targetTable?.columns.map((c) => (
                    <option key={c.name}>{c.name}</option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={handleAddKey}>
                Add foreign key
              </button>
            </div>
          )}
        </fieldset>
        <button type="submit">Save keys of {table.name}</button>{' '}
        <button type="button" className="danger" onClick={handleRemove}>
          Remove table {table.name}
        </button>
      </form>
    </section>
  );
}

/**
 * The data dictionary as a form per column, pre-filled from what was read and written before; a
 * column's example, until a curator writes one, is its first value in the draft's data (none
 * where PHI findings are still open: the server withholds those).
 */
function DictionaryEditor({
  slug,
  draft,
  change,
}: {
  slug: string;
  draft: DatasetVersion;
  change: Change;
}) {
  const [examples, setExamples] = useState<Map<string, string> | null>(null);
  const [withheld, setWithheld] = useState<Set<string>>(new Set());
  useEffect(() => {
    let live = true;
    api.getDraftExamples(slug).then(
      (found) => {
        if (!live) {
          return;
        }
        const values = new Map<string, string>();
        const held = new Set<string>();
        for (const table of found.tables) {
          for (const column of table.columns) {
            if (column.example !== null) {
              values.set(`${table.name}.${column.name}`, column.example);
            }
            if (column.withheld) {
              held.add(`${table.name}.${column.name}`);
            }
          }
        }
        setExamples(values);
        setWithheld(held);
      },
      // Without examples the form works as before: nothing to pre-fill.
      () => live && setExamples(new Map()),
    );
    return () => {
      live = false;
    };
  }, [slug, draft]);
  const handleSave = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => formText(form, name).trim();
    const dictionary: DatasetDictionary = {
      tables: draft.snapshot.tables.map((table) => ({
        name: table.name,
        description: text(`${table.name}/description`),
        // A column without a description stays undocumented: publication lists it as a problem.
        columns: table.columns
          .filter((c) => text(`${table.name}/${c.name}/description`) !== '')
          .map((c) => {
            const field = (what: string) => text(`${table.name}/${c.name}/${what}`);
            const type = COLUMN_TYPES.find((t) => t === field('type')) ?? c.type;
            const allowed = field('allowed')
              .split(',')
              .map((v) => v.trim())
              .filter((v) => v !== '');
            const method = DEIDENTIFICATION_METHODS.find((m) => m === field('deid'));
            return {
              name: c.name,
              description: field('description'),
              type,
              ...(field('example') === '' ? {} : { example: field('example') }),
              ...(field('unit') === '' ? {} : { unit: field('unit') }),
              ...(allowed.length === 0 ? {} : { allowedValues: allowed }),
              ...(method === undefined
                ? {}
                : {
                    deidentification: {
                      method,
                      ...(field('note') === '' ? {} : { note: field('note') }),
                    },
                  }),
            };
          }),
      })),
    };
    void change(() => api.setDraftDictionary(slug, dictionary), 'Data dictionary saved.');
  };
  if (draft.snapshot.tables.length === 0) {
    return <p className="muted">Upload a table first.</p>;
  }
  return (
    <form onSubmit={handleSave} aria-label="Data dictionary">
      {draft.snapshot.tables.map((table) => {
        const written = draft.dictionary.tables.find((t) => t.name === table.name);
        return (
          <fieldset
            key={`${table.name}:${table.columns.map((c) => c.name).join(',')}:${examples === null ? 'reading' : 'read'}`}
          >
            <legend>Dictionary of {table.name}</legend>
            <label>
              Description of {table.name}
              <textarea
                name={`${table.name}/description`}
                rows={2}
                defaultValue={written?.description ?? ''}
              />
            </label>
            {table.columns.map((c) => {
              const entry = written?.columns.find((w) => w.name === c.name);
              const name = (what: string) => `${table.name}/${c.name}/${what}`;
              const label = `${table.name}.${c.name}`;
              return (
                <fieldset key={c.name} aria-label={`Column ${label}`}>
                  <legend>
                    <code>{c.name}</code> <span className="muted">(read as {c.type})</span>
                  </legend>
                  <div className="columns-form">
                    <label>
                      Description
                      <input
                        name={name('description')}
                        defaultValue={entry?.description ?? ''}
                        aria-label={`Description of ${label}`}
                      />
                    </label>
                    <label>
                      Type
                      <select
                        name={name('type')}
                        defaultValue={entry?.type ?? c.type}
                        aria-label={`Type of ${label}`}
                      >
                        {COLUMN_TYPES.map((t) => (
                          <option key={t}>{t}</option>
                        ))}
                      </select>
                    </label>
                    <label>
                      Example
                      <input
                        name={name('example')}
                        defaultValue={entry?.example ?? examples?.get(label) ?? ''}
                        aria-label={`Example of ${label}`}
                        aria-describedby={
                          withheld.has(label) ? `${table.name}-${c.name}-withheld` : undefined
                        }
                      />
                      {withheld.has(label) && (
                        <span id={`${table.name}-${c.name}-withheld`} className="muted">
                          No example until the PHI findings of this column are decided.
                        </span>
                      )}
                    </label>
                    <label>
                      Unit
                      <input
                        name={name('unit')}
                        defaultValue={entry?.unit ?? ''}
                        aria-label={`Unit of ${label}`}
                      />
                    </label>
                    <label>
                      Allowed values (comma-separated)
                      <input
                        name={name('allowed')}
                        defaultValue={entry?.allowedValues?.join(', ') ?? ''}
                        aria-label={`Allowed values of ${label}`}
                      />
                    </label>
                    <label>
                      De-identification
                      <select
                        name={name('deid')}
                        defaultValue={entry?.deidentification?.method ?? ''}
                        aria-label={`De-identification of ${label}`}
                      >
                        <option value="">not said</option>
                        {DEIDENTIFICATION_METHODS.map((m: DeidentificationMethod) => (
                          <option key={m}>{m}</option>
                        ))}
                      </select>
                    </label>
                    <label>
                      How (note)
                      <input
                        name={name('note')}
                        defaultValue={entry?.deidentification?.note ?? ''}
                        aria-label={`De-identification note of ${label}`}
                      />
                    </label>
                  </div>
                </fieldset>
              );
            })}
          </fieldset>
        );
      })}
      <button type="submit">Save data dictionary</button>
    </form>
  );
}

/** What publishing now would give, problems first, and "Publish" behind a confirmation. */
function Publication({
  slug,
  title,
  preview,
  phiOpen,
  heldOpen,
  navigate,
}: {
  slug: string;
  title: string;
  preview: PublicationPreview;
  /** Findings of the PHI review without a decision (0 when the draft was not ingested). */
  phiOpen: number;
  /** Held files without a decision. */
  heldOpen: number;
  navigate: (to: string) => void;
}) {
  const [notes, setNotes] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [refused, setRefused] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const problems = [...preview.problems].sort(
    (a, b) => Number(a.severity !== 'blocking') - Number(b.severity !== 'blocking'),
  );
  const handlePublish = () => {
    if (
      !window.confirm(
        `Publish version ${preview.version} of ${title}? A published version never changes.`,
      )
    ) {
      return;
    }
    setBusy(true);
    setError(null);
    setRefused([]);
    api.publishDraft(slug, { version: preview.version, notes }).then(
      (published) => navigate(datasetPath(slug, published.version)),
      (caught: unknown) => {
        setBusy(false);
        setError(problemOf(caught));
        if (caught instanceof ApiError) {
          setRefused((caught.problem.errors ?? []).map((e) => `${e.path}: ${e.message}`));
        }
      },
    );
  };
  return (
    <div data-testid="publication">
      <p data-testid="computed-version">
        Publishing now makes version <strong>{preview.version}</strong> (
        {preview.previous === null
          ? 'the first version'
          : `${preview.level} change from ${preview.previous}`}
        ).
      </p>
      {problems.length > 0 && (
        <>
          <h3>Problems</h3>
          {phiOpen > 0 && (
            <p data-testid="publication-phi-open">
              <a href="#phi-title">
                {phiOpen} PHI {phiOpen === 1 ? 'finding' : 'findings'} without a decision
              </a>{' '}
              block publication.
            </p>
          )}
          {heldOpen > 0 && (
            <p data-testid="publication-held-open">
              <a href="#held-title">
                {heldOpen} held {heldOpen === 1 ? 'file' : 'files'} without a decision
              </a>{' '}
              block publication.
            </p>
          )}
          <ul className="problems" data-testid="problems">
            {problems.map((p, i) => (
              <li key={i} className={p.severity}>
                <strong>{p.severity === 'blocking' ? 'Blocking' : 'Warning'}</strong> ({p.source}):{' '}
                {p.message}
              </li>
            ))}
          </ul>
        </>
      )}
      {preview.reasons.length > 0 && (
        <>
          <h3>Why this number</h3>
          <ul>
            {preview.reasons.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
        </>
      )}
      <h3>Change log</h3>
      {preview.changeLog.length === 0 ? (
        <p className="muted">No change to the tables.</p>
      ) : (
        <ul data-testid="preview-log">
          {preview.changeLog.map((entry, i) => (
            <li key={i}>{entry.text}</li>
          ))}
        </ul>
      )}
      <label>
        Notes for this version (shown beside the change log)
        <textarea rows={3} value={notes} onChange={(e) => setNotes(e.target.value)} />
      </label>
      {error !== null && (
        <div role="alert" className="bad">
          <p>{error}</p>
          {refused.length > 0 && (
            <ul>
              {refused.map((r, i) => (
                <li key={i}>{r}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <button type="button" disabled={busy || !preview.publishable} onClick={handlePublish}>
        Publish version {preview.version}
      </button>
      {!preview.publishable && <p className="muted">Fix the blocking problems to publish.</p>}
    </div>
  );
}

/**
 * /datasets/:slug/draft (curators): the next version in the making — the PHI review when an ingest
 * made it, documentation with a preview, tables uploaded as CSV, their keys, the data dictionary,
 * and the publication preview.
 */
export function DraftPage({ slug, navigate }: { slug: string; navigate: (to: string) => void }) {
  const { user } = useSession();
  const [title, setTitle] = useState('');
  const [draft, setDraft] = useState<DatasetVersion | null | undefined>(undefined);
  const [preview, setPreview] = useState<PublicationPreview | null>(null);
  const [review, setReview] = useState<PhiReview | null>(null);
  const [held, setHeld] = useState<HeldReview | null>(null);
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);

  const refreshPreview = useCallback(async () => {
    setPreview(await api.previewPublication(slug));
  }, [slug]);

  useEffect(() => {
    if (user === undefined) {
      return;
    }
    api
      .getDataset(slug)
      .then(async (dataset) => {
        setTitle(dataset.title);
        if (!dataset.versions.some((v) => v.status === 'draft')) {
          setDraft(null);
          return;
        }
        setDraft(await api.getDatasetVersion(slug, 'draft'));
        setReview(await api.getPhiReview(slug));
        setHeld(await api.getHeldFiles(slug));
        await refreshPreview();
        // A link to the review (the ingest page's) lands on it once it is drawn.
        if (window.location.hash === '#phi-review') {
          requestAnimationFrame(() => {
            const heading = document.getElementById('phi-title');
            heading?.scrollIntoView();
            heading?.focus();
          });
        }
      })
      .catch((caught: unknown) => setMessage({ text: problemOf(caught), bad: true }));
  }, [slug, user, refreshPreview]);

  const change: Change = async (work, done) => {
    setMessage(null);
    try {
      setDraft(await work());
      setMessage({ text: done, bad: false });
      await refreshPreview();
      return true;
    } catch (caught) {
      const details =
        caught instanceof ApiError && caught.problem.errors !== undefined
          ? ` (${caught.problem.errors.map((e) => `${e.path}: ${e.message}`).join('; ')})`
          : '';
      setMessage({ text: `${problemOf(caught)}${details}`, bad: true });
      return false;
    }
  };

  // A decision may rewrite a table (a dropped column), so the draft is read again after it.
  const decide: Decide = (decisions, done) =>
    change(async () => {
      setReview(await api.decidePhi(slug, decisions));
      return api.getDatasetVersion(slug, 'draft');
    }, done);

  // A release puts a file in the draft, an exclusion rewrites a table: the draft is read again.
  const decideHeld: DecideHeld = (decisions, done) =>
    change(async () => {
      setHeld(await api.decideHeldFiles(slug, decisions));
      return api.getDatasetVersion(slug, 'draft');
    }, done);

  if (user !== undefined && !can(user, 'catalog.curate')) {
    return <p role="alert">Only curators edit drafts.</p>;
  }
  const handleOpen = () => {
    api.openDatasetDraft(slug).then(
      async (opened) => {
        setDraft(opened);
        await refreshPreview();
      },
      (caught: unknown) => setMessage({ text: problemOf(caught), bad: true }),
    );
  };
  const status =
    message === null ? null : (
      <p
        role={message.bad ? 'alert' : 'status'}
        className={message.bad ? 'bad' : 'good'}
        data-testid="draft-message"
      >
        {message.text}
      </p>
    );
  if (draft === undefined) {
    return status ?? <p role="status">Loading…</p>;
  }
  return (
    <article aria-labelledby="draft-title">
      <p>
        <Link to={datasetPath(slug)} navigate={navigate}>
          Back to the dataset
        </Link>
      </p>
      <h1 id="draft-title">Draft of {title}</h1>
      <p>
        <Link to="/datasets/ingest" navigate={navigate}>
          Ingest a delivery
        </Link>{' '}
        <span className="muted">
          to replace the draft's tables and files with a partner's new delivery.
        </span>
      </p>
      <div className="sticky-status">{status}</div>
      {draft === null ? (
        <>
          <p>No draft is open. A new draft starts from the newest version.</p>
          <button type="button" onClick={handleOpen}>
            Open a new draft
          </button>
        </>
      ) : (
        <>
          {review !== null && <PhiReviewSection review={review} decide={decide} />}
          {held !== null && <HeldFilesSection slug={slug} review={held} decide={decideHeld} />}
          <section aria-labelledby="tables-title">
            <h2 id="tables-title">Tables</h2>
            <UploadTable slug={slug} change={change} />
            {draft.snapshot.tables.map((table) => (
              <TableKeys
                key={`${table.name}:${draft.updatedAt}`}
                slug={slug}
                table={table}
                tables={draft.snapshot.tables}
                change={change}
              />
            ))}
          </section>
          <section aria-labelledby="dictionary-title">
            <h2 id="dictionary-title">Data dictionary</h2>
            <DictionaryEditor slug={slug} draft={draft} change={change} />
          </section>
          <section aria-labelledby="documentation-title">
            <h2 id="documentation-title">Documentation</h2>
            <DocumentationEditor slug={slug} draft={draft} change={change} />
          </section>
          <section aria-labelledby="publication-title">
            <h2 id="publication-title">Publication</h2>
            {preview === null ? (
              <p role="status">Checking…</p>
            ) : (
              <Publication
                slug={slug}
                title={title}
                preview={preview}
                phiOpen={review?.open.length ?? 0}
                heldOpen={held?.open ?? 0}
                navigate={navigate}
              />
            )}
          </section>
        </>
      )}
    </article>
  );
}
