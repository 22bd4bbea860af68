import { MODALITIES, MODALITY_TITLES, type Modality } from '@lantern/core/catalog';
import { ApiError, type CatalogCard, type ListDatasetsQuery } from '@lantern/sdk';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { can, formText, useSession } from '../../session.js';
import { countryName, datasetPath, day, problemOf } from './catalog-text.js';

interface Category {
  slug: string;
  title: string;
  description: string;
}

function DatasetCard({ card, navigate }: { card: CatalogCard; navigate: (to: string) => void }) {
  return (
    <li className="card" data-testid={`card-${card.slug}`}>
      <h3>
        <Link to={datasetPath(card.slug)} navigate={navigate}>
          {card.title}
        </Link>{' '}
        {card.synthetic && <span className="badge synthetic">synthetic</span>}
      </h3>
      <p>{card.problem}</p>
      <p className="muted">
        {card.partners.map((p) => `${p.name} (${countryName(p.country)})`).join(', ')}
      </p>
      {card.modalities.length > 0 && (
        <p className="muted" data-testid={`modalities-${card.slug}`}>
          {card.modalities.map((m) => MODALITY_TITLES[m]).join(' · ')}
        </p>
      )}
      <p className="muted">
        {card.latestVersion === null
          ? 'Not published yet'
          : `Version ${card.latestVersion}${card.latestPublishedAt === null ? '' : `, ${day(card.latestPublishedAt)}`}`}
        {card.hasDraft && ' · a draft is open'}
      </p>
      {card.tags.length > 0 && (
        <ul className="tags" aria-label="Tags">
          {card.tags.map((tag) => (
            <li key={tag}>{tag}</li>
          ))}
        </ul>
      )}
    </li>
  );
}

/** Admins: a new category (slug, title, description) for the filters and the new-dataset form. */
function AddCategory({ onAdded }: { onAdded: (title: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const target = event.currentTarget;
    const form = new FormData(target);
    const input = {
      slug: formText(form, 'slug').trim(),
      title: formText(form, 'title').trim(),
      description: formText(form, 'description').trim(),
    };
    setBusy(true);
    setError(null);
    setProblems([]);
    setDone(null);
    api.addDatasetCategory(input).then(
      () => {
        setBusy(false);
        setDone(`Category ${input.title} added.`);
        target.reset();
        onAdded(input.title);
      },
      (caught: unknown) => {
        setBusy(false);
        setError(problemOf(caught));
        if (caught instanceof ApiError) {
          setProblems(
            (caught.problem.errors ?? []).map(
              (e) => `${e.path.replace(/^body\.?/, '')}: ${e.message}`,
            ),
          );
        }
      },
    );
  };
  return (
    <details className="admin-categories">
      <summary>Add a category (admins)</summary>
      <form onSubmit={handleSubmit} aria-label="Add a category" noValidate>
        <label>
          Category slug (e.g. mri-images)
          <input name="slug" autoComplete="off" />
        </label>
        <label>
          Category title
          <input name="title" />
        </label>
        <label>
          Category description
          <textarea name="description" rows={2} />
        </label>
        <button type="submit" disabled={busy}>
          Add the category
        </button>
      </form>
      {done !== null && (
        <p role="status" data-testid="category-added">
          {done}
        </p>
      )}
      {error !== null && (
        <div role="alert" className="bad">
          <p>{error}</p>
          {problems.length > 0 && (
            <ul>
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </details>
  );
}

/**
 * /datasets: the catalog, cards grouped by category, with full-text search (titles, problems,
 * column names: the server's `q`) and filters by category, partner, country and modality.
 */
export function CatalogPage({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
  const [categories, setCategories] = useState<Category[]>([]);
  const [everything, setEverything] = useState<CatalogCard[]>([]);
  const [query, setQuery] = useState<ListDatasetsQuery>({});
  const [found, setFound] = useState<CatalogCard[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [categoriesAdded, setCategoriesAdded] = useState(0);

  // The whole catalog once, for the filters' choices; curators also see unpublished drafts.
  useEffect(() => {
    if (user === undefined) {
      return;
    }
    Promise.all([api.listDatasetCategories(), api.listDatasets()]).then(
      ([listed, datasets]) => {
        setCategories(listed);
        setEverything(datasets);
      },
      (caught: unknown) => setError(problemOf(caught)),
    );
  }, [user, categoriesAdded]);

  useEffect(() => {
    if (user === undefined) {
      return;
    }
    let live = true;
    api.listDatasets(query).then(
      (datasets) => {
        if (live) {
          setFound(datasets);
          setError(null);
        }
      },
      (caught: unknown) => {
        if (live) {
          setError(problemOf(caught));
        }
      },
    );
    return () => {
      live = false;
    };
  }, [query, user]);

  const partners = useMemo(
    () => [...new Set(everything.flatMap((d) => d.partners.map((p) => p.name)))].sort(),
    [everything],
  );
  const countries = useMemo(
    () => [...new Set(everything.flatMap((d) => d.partners.map((p) => p.country)))].sort(),
    [everything],
  );

  // Only the modalities some dataset has, in the order of MODALITIES.
  const modalities = useMemo(() => {
    const held = new Set<Modality>(everything.flatMap((d) => d.modalities));
    return MODALITIES.filter((m) => held.has(m));
  }, [everything]);

  const handleSearch = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next: ListDatasetsQuery = {};
    const q = formText(form, 'q').trim();
    const category = formText(form, 'category');
    const partner = formText(form, 'partner');
    const country = formText(form, 'country');
    const modality = MODALITIES.find((m) => m === formText(form, 'modality'));
    if (q !== '') {
      next.q = q;
    }
    if (category !== '') {
      next.category = category;
    }
    if (partner !== '') {
      next.partner = partner;
    }
    if (country !== '') {
      next.country = country;
    }
    if (modality !== undefined) {
      next.modality = modality;
    }
    setQuery(next);
  };

  const titleOf = (slug: string) => categories.find((c) => c.slug === slug)?.title ?? slug;
  const groups = new Map<string, CatalogCard[]>();
  for (const card of found ?? []) {
    groups.set(card.category, [...(groups.get(card.category) ?? []), card]);
  }
  const filtered = Object.keys(query).length > 0;

  return (
    <section aria-labelledby="catalog-title">
      <h1 id="catalog-title">Datasets</h1>
      <p className="muted">
        De-identified health data, documented and versioned. Anyone may read the catalog; working
        with the data needs an admitted account and accepted terms.
      </p>
      {can(user, 'catalog.curate') && (
        <p>
          <Link to="/datasets/new" navigate={navigate}>
            New dataset
          </Link>{' '}
          ·{' '}
          <Link to="/datasets/ingest" navigate={navigate}>
            Ingest a delivery
          </Link>
        </p>
      )}
      {can(user, 'catalog.manage') && (
        <AddCategory onAdded={() => setCategoriesAdded((n) => n + 1)} />
      )}
      <form className="filters" role="search" aria-label="Datasets" onSubmit={handleSearch}>
        <label>
          Search titles, problems and column names
          <input name="q" type="search" maxLength={200} />
        </label>
        <label>
          Category
          <select name="category" defaultValue="">
            <option value="">Any</option>
            {categories.map((c) => (
              <option key={c.slug} value={c.slug}>
                {c.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          Partner
          <select name="partner" defaultValue="">
            <option value="">Any</option>
            {partners.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          Country
          <select name="country" defaultValue="">
            <option value="">Any</option>
            {countries.map((c) => (
              <option key={c} value={c}>
                {countryName(c)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Modality
          <select name="modality" defaultValue="">
            <option value="">Any</option>
            {modalities.map((m) => (
              <option key={m} value={m}>
                {MODALITY_TITLES[m]}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}
      {found === null && error === null && <p role="status">Loading…</p>}
      {found !== null && found.length === 0 && (
        <p data-testid="catalog-empty">
          {filtered
            ? 'No dataset matches this search. Try fewer words or other filters.'
            : 'The catalog has no datasets yet.'}
        </p>
      )}
      {found !== null && found.length > 0 && (
        <p role="status" className="muted" data-testid="catalog-count">
          {found.length === 1 ? '1 dataset' : `${found.length} datasets`}
          {filtered ? ' match' : ''}
        </p>
      )}
      <div data-testid="catalog">
        {[...groups.entries()]
          .sort(([a], [b]) => titleOf(a).localeCompare(titleOf(b)))
          .map(([category, cards]) => (
            <section key={category} aria-labelledby={`category-${category}`}>
              <h2 id={`category-${category}`}>{titleOf(category)}</h2>
              <ul className="cards">
                {cards.map((card) => (
                  <DatasetCard key={card.slug} card={card} navigate={navigate} />
                ))}
              </ul>
            </section>
          ))}
      </div>
    </section>
  );
}
