import type { CatalogCard } from '@lantern/sdk';
import { useEffect, useState } from 'react';
import { api } from '../../api.js';
import type { Problems } from '../../components/Field.js';
import { problemOf } from '../catalog/catalog-text.js';

/** A dataset chosen for a project, at a version. */
export interface ChosenDataset {
  slug: string;
  version: string;
}

/** What choosing a dataset of this tier does, said beside it. */
export const tierWords = (tier: CatalogCard['accessTier']) =>
  tier === 'open'
    ? 'open to admitted researchers: attached at once'
    : 'by approval: a request with the research purpose goes to a reviewer';

/**
 * The published datasets of the catalog, each with a checkbox and, once chosen, a version (its
 * published ones, newest first; retired versions cannot be attached). `chosen` keeps the order in
 * which they were picked, which is the order the server's field problems (`datasets.0.version`)
 * count in.
 */
export function DatasetPicker({
  chosen,
  onChange,
  problems,
  exclude = [],
}: {
  chosen: ChosenDataset[];
  onChange: (next: ChosenDataset[]) => void;
  problems: Problems;
  /** Dataset versions the project holds already (`slug@version`): not offered again. */
  exclude?: readonly string[];
}) {
  const [cards, setCards] = useState<CatalogCard[] | null>(null);
  const [versions, setVersions] = useState<Record<string, string[]>>({});
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.listDatasets().then(
      (all) => setCards(all.filter((card) => card.latestVersion !== null)),
      (caught: unknown) => setError(problemOf(caught)),
    );
  }, []);

  const handleToggle = (card: CatalogCard, on: boolean) => {
    if (!on) {
      onChange(chosen.filter((c) => c.slug !== card.slug));
      return;
    }
    onChange([...chosen, { slug: card.slug, version: card.latestVersion ?? '' }]);
    if (versions[card.slug] === undefined) {
      api.getDataset(card.slug).then(
        (dataset) =>
          setVersions((known) => ({
            ...known,
            [card.slug]: dataset.versions
              .filter((v) => v.status === 'published' && v.version !== null)
              .map((v) => v.version ?? ''),
          })),
        (caught: unknown) => setError(problemOf(caught)),
      );
    }
  };

  const handleVersion = (slug: string, version: string) => {
    onChange(chosen.map((c) => (c.slug === slug ? { slug, version } : c)));
  };

  if (cards === null) {
    return error === null ? (
      <p role="status">Loading the catalog…</p>
    ) : (
      <p role="alert" className="bad">
        {error}
      </p>
    );
  }
  if (cards.length === 0) {
    return <p>The catalog has no published dataset yet.</p>;
  }
  return (
    <ul className="picker" data-testid="dataset-picker">
      {error !== null && (
        <li role="alert" className="bad">
          {error}
        </li>
      )}
      {cards.map((card) => {
        const index = chosen.findIndex((c) => c.slug === card.slug);
        const pick = chosen[index];
        const problem =
          index < 0
            ? undefined
            : [
                problems[`datasets.${index}`],
                problems[`datasets.${index}.slug`],
                problems[`datasets.${index}.version`],
              ]
                .filter((p) => p !== undefined)
                .join('; ') || undefined;
        const problemId = `dataset-${card.slug}-problem`;
        const offered = (versions[card.slug] ?? [card.latestVersion ?? '']).filter(
          (v) => !exclude.includes(`${card.slug}@${v}`),
        );
        return (
          <li key={card.slug}>
            <label className="inline">
              <input
                type="checkbox"
                checked={pick !== undefined}
                onChange={(e) => handleToggle(card, e.target.checked)}
                aria-describedby={`dataset-${card.slug}-tier`}
              />{' '}
              {card.title}
              {card.synthetic && <span className="badge synthetic">synthetic</span>}
            </label>
            <span id={`dataset-${card.slug}-tier`} className="muted tier">
              {tierWords(card.accessTier)}
            </span>
            {pick !== undefined && (
              <label className="version-select">
                Version of {card.title}
                <select
                  value={pick.version}
                  onChange={(e) => handleVersion(card.slug, e.target.value)}
                  {...(problem === undefined
                    ? {}
                    : { 'aria-invalid': true, 'aria-describedby': problemId })}
                >
                  {offered.map((v) => (
                    <option key={v} value={v}>
                      {v}
                      {v === card.latestVersion ? ' (latest)' : ''}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {problem !== undefined && (
              <p id={problemId} className="field-problem bad">
                {problem}
              </p>
            )}
          </li>
        );
      })}
    </ul>
  );
}
