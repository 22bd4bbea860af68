import { MODALITY_TITLES, changeLog, diffSnapshots } from '@lantern/core/catalog';
import type { Dataset, DatasetVersion, VersionSummary } from '@lantern/sdk';
import { useEffect, useState } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { Markdown } from '../../components/Markdown.js';
import { Tabs, type Tab } from '../../components/Tabs.js';
import { can, useSession } from '../../session.js';
import { countryName, datasetPath, day, problemOf } from './catalog-text.js';
import { DataDictionary } from './DataDictionary.js';
import { FixedReports, ReportProblem } from './Reports.js';

type DatasetWithVersions = Dataset & { versions: VersionSummary[] };

/** Versions people may read (not the draft), newest first as the server lists them. */
const readable = (dataset: DatasetWithVersions) =>
  dataset.versions.filter(
    (v): v is VersionSummary & { version: string } => v.version !== null && v.status !== 'draft',
  );

/** The version a page without one shows: the newest published, else the newest retired. */
function defaultVersion(dataset: DatasetWithVersions): string | null {
  const versions = readable(dataset);
  return (versions.find((v) => v.status === 'published') ?? versions[0])?.version ?? null;
}

const LEVELS = { major: 'Major', minor: 'Minor', patch: 'Patch' } as const;

function Citation({ text, doi }: { text: string; doi?: string | undefined }) {
  const [copied, setCopied] = useState<string | null>(null);
  const handleCopy = () => {
    navigator.clipboard.writeText(text).then(
      () => setCopied('Copied.'),
      () => setCopied('Copying is not allowed here; select the text instead.'),
    );
  };
  return (
    <div className="citation">
      <h2>How to cite</h2>
      <blockquote data-testid="citation">{text}</blockquote>
      {doi !== undefined && (
        <p>
          DOI: <a href={`https://doi.org/${doi}`}>{doi}</a>
        </p>
      )}
      <button type="button" onClick={handleCopy}>
        Copy citation
      </button>{' '}
      {copied !== null && <span role="status">{copied}</span>}
    </div>
  );
}

/**
 * Each version with its level, date, change log and the curator's notes; fetched when shown.
 * Curators may retire a published version (behind a confirmation); it stays readable.
 */
function VersionsTab({
  dataset,
  curates,
  onRetired,
  navigate,
}: {
  dataset: DatasetWithVersions;
  curates: boolean;
  onRetired: (version: string) => void;
  navigate: (to: string) => void;
}) {
  const [versions, setVersions] = useState<DatasetVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const handleRetire = (version: string) => {
    if (
      !window.confirm(
        `Retire version ${version} of ${dataset.title}? It stays readable and citable at its address, but is no longer offered as the current version. This cannot be undone.`,
      )
    ) {
      return;
    }
    setBusy(true);
    setError(null);
    api.retireDatasetVersion(dataset.slug, version).then(
      () => {
        setBusy(false);
        onRetired(version);
      },
      (caught: unknown) => {
        setBusy(false);
        setError(problemOf(caught));
      },
    );
  };
  useEffect(() => {
    Promise.all(readable(dataset).map((v) => api.getDatasetVersion(dataset.slug, v.version))).then(
      setVersions,
      (caught: unknown) => setError(problemOf(caught)),
    );
  }, [dataset]);
  if (versions === null) {
    return error === null ? <p role="status">Loading…</p> : <p role="alert">{error}</p>;
  }
  return (
    <>
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}
      <ol className="versions" data-testid="versions">
        {versions.map((v) => (
          <li key={v.version}>
            <h3>
              <Link to={datasetPath(dataset.slug, v.version)} navigate={navigate}>
                Version {v.version}
              </Link>{' '}
              {v.status === 'retired' && <span className="badge retired">retired</span>}
            </h3>
            <p className="muted">
              {v.changeLevel === null || v.changeReasons.includes('first publication')
                ? 'First version'
                : `${LEVELS[v.changeLevel]} change`}
              {v.publishedAt !== null && `, published ${day(v.publishedAt)}`}
              {v.retiredAt !== null && `, retired ${day(v.retiredAt)}`}
            </p>
            {v.notes !== '' && (
              <div className="notes">
                <h4>Notes from the curators</h4>
                <p>{v.notes}</p>
              </div>
            )}
            <h4>Change log</h4>
            {v.changeLog.length === 0 ? (
              <p className="muted">No change to the tables.</p>
            ) : (
              <ul>
                {v.changeLog.map((entry, i) => (
                  <li key={i}>{entry.text}</li>
                ))}
              </ul>
            )}
            {curates && v.status === 'published' && v.version !== null && (
              <p>
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => v.version !== null && handleRetire(v.version)}
                >
                  Retire version {v.version}
                </button>
              </p>
            )}
            {v.version !== null && <FixedReports slug={dataset.slug} version={v.version} />}
          </li>
        ))}
      </ol>
    </>
  );
}

/** Two versions side by side: their diff and change log, computed here from both snapshots. */
function CompareTab({ dataset, current }: { dataset: DatasetWithVersions; current: string }) {
  const versions = readable(dataset);
  const older = versions[versions.findIndex((v) => v.version === current) + 1]?.version;
  const [from, setFrom] = useState(older ?? versions[versions.length - 1]?.version ?? current);
  const [to, setTo] = useState(current);
  const [pair, setPair] = useState<[DatasetVersion, DatasetVersion] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    Promise.all([
      api.getDatasetVersion(dataset.slug, from),
      api.getDatasetVersion(dataset.slug, to),
    ]).then(
      (both) => live && setPair(both),
      (caught: unknown) => live && setError(problemOf(caught)),
    );
    return () => {
      live = false;
    };
  }, [dataset.slug, from, to]);
  if (versions.length < 2) {
    return <p>There is only one version: nothing to compare yet.</p>;
  }
  const select = (label: string, value: string, onChange: (v: string) => void) => (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            {v.version}
            {v.status === 'retired' ? ' (retired)' : ''}
          </option>
        ))}
      </select>
    </label>
  );
  const entries =
    pair === null ? null : changeLog(diffSnapshots(pair[0].snapshot, pair[1].snapshot));
  return (
    <div data-testid="compare">
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        {select('From version', from, setFrom)}
        {select('To version', to, setTo)}
      </form>
      {error !== null && <p role="alert">{error}</p>}
      {entries !== null && pair !== null && (
        <>
          <h3>
            From {pair[0].version} to {pair[1].version}
          </h3>
          {entries.length === 0 ? (
            <p>The tables are the same.</p>
          ) : (
            <ul data-testid="compare-log">
              {entries.map((entry, i) => (
                <li key={i}>{entry.text}</li>
              ))}
            </ul>
          )}
          <p className="muted">
            Rows are compared by count here; the change log of each version compares them by key.
          </p>
        </>
      )}
    </div>
  );
}

/**
 * /datasets/:slug[/versions/:version]: a dataset as a researcher reads it — header, how to cite,
 * a version selector, and tabs for each documentation section, the data dictionary, the
 * schematic, the versions and a comparison. Nothing here offers the data itself.
 */
export function DatasetPage({
  slug,
  version,
  navigate,
}: {
  slug: string;
  version?: string;
  navigate: (to: string) => void;
}) {
  const { user } = useSession();
  const [dataset, setDataset] = useState<DatasetWithVersions | null>(null);
  const [shown, setShown] = useState<DatasetVersion | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState('');
  const [busy, setBusy] = useState(false);
  const [loads, setLoads] = useState(0);

  useEffect(() => {
    if (user === undefined) {
      return;
    }
    let live = true;
    setError(null);
    api
      .getDataset(slug)
      .then(async (found) => {
        const chosen = version ?? defaultVersion(found);
        const read = chosen === null ? null : await api.getDatasetVersion(slug, chosen);
        if (live) {
          setDataset(found);
          setShown(read);
        }
      })
      .catch((caught: unknown) => live && setError(problemOf(caught)));
    return () => {
      live = false;
    };
  }, [slug, version, user, loads]);

  if (dataset === null) {
    return error === null ? <p role="status">Loading…</p> : <p role="alert">{error}</p>;
  }
  const curates = can(user, 'catalog.curate');
  const hasDraft = dataset.versions.some((v) => v.status === 'draft');
  const handleOpenDraft = () => {
    setBusy(true);
    api.openDatasetDraft(slug).then(
      () => navigate(`${datasetPath(slug)}/draft`),
      (caught: unknown) => {
        setError(problemOf(caught));
        setBusy(false);
      },
    );
  };
  const versions = readable(dataset);
  const tabs: Tab[] =
    shown === null
      ? []
      : [
          ...shown.documentation.map((section, i) => ({
            id: `doc-${i}`,
            label: section.title,
            render: () => <Markdown source={section.markdown} />,
          })),
          {
            id: 'dictionary',
            label: 'Data dictionary',
            render: () => <DataDictionary version={shown} />,
          },
          {
            id: 'schematic',
            label: 'Schematic',
            render: () => (
              <figure className="schematic">
                <img
                  src={api.schematicPath(slug, shown.version ?? 'draft')}
                  alt={`Entity-relationship diagram of ${dataset.title}, version ${shown.version ?? 'draft'}: ${shown.snapshot.tables.map((t) => t.name).join(', ')}`}
                />
                <figcaption className="muted">
                  Drawn from the tables' keys: each box a table, each line a key.
                </figcaption>
              </figure>
            ),
          },
          {
            id: 'versions',
            label: 'Versions',
            render: () => (
              <VersionsTab
                dataset={dataset}
                curates={curates}
                onRetired={() => setLoads((n) => n + 1)}
                navigate={navigate}
              />
            ),
          },
          {
            id: 'compare',
            label: 'Compare',
            render: () => <CompareTab dataset={dataset} current={shown.version ?? ''} />,
          },
        ];

  return (
    <article aria-labelledby="dataset-title" className="dataset">
      <p>
        <Link to="/datasets" navigate={navigate}>
          All datasets
        </Link>
      </p>
      <h1 id="dataset-title">
        {dataset.title} {dataset.synthetic && <span className="badge synthetic">synthetic</span>}
      </h1>
      <p className="problem">{dataset.problem}</p>
      <dl className="facts">
        {dataset.modalities.length > 0 && (
          <>
            <dt>Holds</dt>
            <dd>{dataset.modalities.map((m) => MODALITY_TITLES[m]).join(' · ')}</dd>
          </>
        )}
        <dt>Partners</dt>
        <dd>
          {dataset.partners.map((p) => `${p.name} (${countryName(p.country)})`).join(', ') ||
            'none named'}
        </dd>
        <dt>Authors</dt>
        <dd>
          {dataset.authors.length === 0
            ? 'none named'
            : dataset.authors.map((a, i) => (
                <span key={i}>
                  {i > 0 && ', '}
                  {a.orcid === undefined ? (
                    a.name
                  ) : (
                    <a href={`https://orcid.org/${a.orcid}`}>{a.name}</a>
                  )}
                </span>
              ))}
        </dd>
        <dt>Access</dt>
        <dd data-testid="access-tier">
          {dataset.accessTier === 'open'
            ? 'Open to every admitted researcher who accepted the terms'
            : "By approval: a reviewer approves each project's request"}
        </dd>
      </dl>
      <Citation text={dataset.citation.text} doi={dataset.citation.doi} />
      {curates && (
        <p className="curator-actions">
          <Link to="/datasets/reports" navigate={navigate}>
            Reported problems
          </Link>{' '}
          <Link to={`${datasetPath(slug)}/edit`} navigate={navigate}>
            Edit details
          </Link>{' '}
          {hasDraft ? (
            <Link to={`${datasetPath(slug)}/draft`} navigate={navigate}>
              Edit the draft
            </Link>
          ) : (
            <button type="button" disabled={busy} onClick={handleOpenDraft}>
              Open a new draft
            </button>
          )}
        </p>
      )}
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}
      {shown === null ? (
        <p>No version is published yet.</p>
      ) : (
        <>
          <label className="version-select">
            Version
            <select
              value={shown.version ?? ''}
              onChange={(e) => navigate(datasetPath(slug, e.target.value))}
            >
              {versions.map((v, i) => (
                <option key={v.version} value={v.version}>
                  {v.version}
                  {v.status === 'retired' ? ' (retired)' : i === 0 ? ' (latest)' : ''}
                </option>
              ))}
            </select>
          </label>
          {shown.status === 'retired' && (
            <p className="warn" data-testid="retired">
              Version {shown.version} is retired: it stays readable, but is no longer offered.
            </p>
          )}
          <Tabs
            label={`Documentation of ${dataset.title}`}
            tabs={tabs}
            selected={tab}
            onSelect={setTab}
          />
          <ReportProblem key={shown.version} slug={slug} version={shown} />
        </>
      )}
    </article>
  );
}
