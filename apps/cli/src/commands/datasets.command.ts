import type {
  CatalogCard,
  Dataset,
  DatasetVersion,
  ListDatasetsQuery,
  PublicationPreview,
  VersionSummary,
} from '@lantern/sdk';
import { describePublicationProblem, type Modality } from '@lantern/core/catalog';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, requireToken, resolveTarget } from '../connection.js';
import { confirm } from '../prompt.js';
import { printTable } from './describe.js';

/**
 * `lantern datasets list`: the catalog, one dataset a line. Anyone may read it; a curator's token
 * also shows the datasets that have only a draft.
 */
export async function listDatasets(options: {
  server?: string;
  q?: string;
  category?: string;
  modality?: Modality;
  json?: boolean;
}): Promise<number> {
  const target = await resolveTarget(options.server);
  const query: ListDatasetsQuery = {
    ...(options.q === undefined ? {} : { q: options.q }),
    ...(options.category === undefined ? {} : { category: options.category }),
    ...(options.modality === undefined ? {} : { modality: options.modality }),
  };
  let datasets: CatalogCard[];
  try {
    datasets = await clientFor(target).listDatasets(query);
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    console.log(JSON.stringify({ datasets }, null, 2));
    return 0;
  }
  if (datasets.length === 0) {
    const filtered = Object.keys(query).length > 0;
    console.log(
      filtered
        ? `No dataset on ${target.server} matches.`
        : `The catalog of ${target.server} is empty.`,
    );
    return 0;
  }
  printTable([
    ['SLUG', 'LATEST', 'CATEGORY', 'TITLE'],
    ...datasets.map((d) => [
      d.slug,
      d.latestVersion ?? (d.hasDraft ? 'draft' : '-'),
      d.category,
      d.title,
    ]),
  ]);
  return 0;
}

/**
 * `lantern datasets show SLUG [--version V]`: what a researcher reads first — the dataset, its
 * versions, and for one version (the latest published unless told) its tables and change log.
 */
export async function showDataset(
  slug: string,
  options: { server?: string; version?: string; json?: boolean },
): Promise<number> {
  const target = await resolveTarget(options.server);
  const client = clientFor(target);
  let dataset: Dataset & { versions: VersionSummary[] };
  let version: DatasetVersion | null;
  try {
    dataset = await client.getDataset(slug);
    const chosen = options.version ?? defaultVersion(dataset.versions);
    version = chosen === null ? null : await client.getDatasetVersion(slug, chosen);
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    const { versions, ...rest } = dataset;
    console.log(JSON.stringify({ dataset: rest, versions, version }, null, 2));
    return 0;
  }
  printDataset(dataset);
  console.log('');
  console.log('Versions');
  printTable(
    dataset.versions.map((v) => [
      `  ${v.version ?? 'draft'}`,
      v.status,
      v.changeLevel ?? '',
      (v.publishedAt ?? v.updatedAt).slice(0, 10),
    ]),
  );
  if (version !== null) {
    console.log('');
    printVersion(version);
  }
  return 0;
}

/**
 * `lantern datasets publish SLUG`: shows the number the draft's changes make, why, its change log
 * and every problem (blocking first), then publishes after a confirmation. The number confirmed is
 * the number sent, so a draft changed meanwhile is refused by the server rather than published
 * under a number nobody saw.
 */
export async function publishDataset(
  slug: string,
  options: { server?: string; yes?: boolean; notes?: string; version?: string },
): Promise<number> {
  const target = await resolveTarget(options.server);
  requireToken(target);
  const client = clientFor(target);
  let preview: PublicationPreview;
  try {
    preview = await client.previewPublication(slug);
  } catch (error) {
    throw describeFailure(error, target);
  }
  printPreview(slug, preview);

  const blocking = preview.problems.filter((p) => p.severity === 'blocking').length;
  if (!preview.publishable || blocking > 0) {
    throw new CliError(
      1,
      `${slug} cannot be published: ${blocking} blocking problem${blocking === 1 ? '' : 's'}; fix ${blocking === 1 ? 'it' : 'them'} in the draft`,
    );
  }
  if (options.version !== undefined && options.version !== preview.version) {
    throw new CliError(
      1,
      `the draft's changes make version ${preview.version}, not ${options.version} (${preview.level}: ${preview.reasons.join('; ')}); nothing was published`,
    );
  }
  if (options.yes !== true) {
    if (!process.stdin.isTTY) {
      throw new CliError(
        2,
        'stdin is not a terminal: pass --yes to publish without being asked; nothing was published',
      );
    }
    if (!(await confirm(`Publish ${slug} ${preview.version}? [y/N] `))) {
      throw new CliError(1, 'nothing was published');
    }
  }
  let published: DatasetVersion;
  try {
    published = await client.publishDraft(slug, {
      version: preview.version,
      ...(options.notes === undefined ? {} : { notes: options.notes }),
    });
  } catch (error) {
    const failure = describeFailure(error, target);
    throw new CliError(failure.exitCode, `${failure.message}; nothing was published`);
  }
  console.log(
    `Published ${slug} ${published.version ?? preview.version} (${published.changeLevel ?? preview.level}) on ${target.server}`,
  );
  return 0;
}

/** The latest published version, else the latest retired one, else the draft (curators). */
function defaultVersion(versions: readonly VersionSummary[]): string | null {
  const published = versions.find((v) => v.status === 'published');
  const retired = versions.find((v) => v.status === 'retired');
  const draft = versions.find((v) => v.status === 'draft');
  return published?.version ?? retired?.version ?? (draft === undefined ? null : 'draft');
}

function printDataset(dataset: Dataset): void {
  console.log(`${dataset.title} (${dataset.slug})${dataset.synthetic ? ' [synthetic]' : ''}`);
  const lines: [string, string][] = [
    ['problem', dataset.problem],
    ['category', dataset.category],
    ['access', dataset.accessTier === 'open' ? 'open to admitted users' : 'by approval'],
  ];
  for (const partner of dataset.partners) {
    lines.push(['partner', `${partner.name} (${partner.country})`]);
  }
  if (dataset.authors.length > 0) {
    lines.push([
      'authors',
      dataset.authors
        .map((a) => (a.orcid === undefined ? a.name : `${a.name} (${a.orcid})`))
        .join(', '),
    ]);
  }
  lines.push([
    'cite as',
    dataset.citation.doi === undefined
      ? dataset.citation.text
      : `${dataset.citation.text} https://doi.org/${dataset.citation.doi}`,
  ]);
  if (dataset.tags.length > 0) {
    lines.push(['tags', dataset.tags.join(', ')]);
  }
  for (const [label, value] of lines) {
    console.log(`  ${label.padEnd(9)} ${value}`);
  }
}

function printVersion(version: DatasetVersion): void {
  const name = version.version ?? 'draft';
  const tables = version.snapshot.tables;
  console.log(
    `Version ${name} (${version.status}): ${tables.length} table${tables.length === 1 ? '' : 's'}`,
  );
  for (const table of tables) {
    const documented = version.dictionary.tables.find((t) => t.name === table.name);
    const key = table.primaryKey.length > 0 ? `, primary key ${table.primaryKey.join(', ')}` : '';
    console.log(
      `  ${table.name} (${table.file}, ${table.rowCount} row${table.rowCount === 1 ? '' : 's'}${key})`,
    );
    for (const foreign of table.foreignKeys) {
      console.log(
        `    ${foreign.columns.join(', ')} -> ${foreign.references.table}(${foreign.references.columns.join(', ')})`,
      );
    }
    printTable(
      table.columns.map((column) => {
        const entry = documented?.columns.find((c) => c.name === column.name);
        return [
          `    ${column.name}`,
          column.type,
          column.nullable ? 'nullable' : '',
          entry === undefined
            ? ''
            : `${entry.description}${entry.unit === undefined ? '' : ` (${entry.unit})`}`,
        ];
      }),
    );
  }
  console.log('');
  console.log('Change log');
  printChangeLog(version.changeLog);
  if (version.notes.trim() !== '') {
    console.log('');
    console.log('Notes');
    console.log(indent(version.notes.trim()));
  }
}

function printPreview(slug: string, preview: PublicationPreview): void {
  console.log(
    `${slug}: the draft would be version ${preview.version} (${preview.level}; ${
      preview.previous === null ? 'the first version' : `previous ${preview.previous}`
    })`,
  );
  if (preview.reasons.length > 0) {
    console.log('Why');
    for (const reason of preview.reasons) {
      console.log(`  - ${reason}`);
    }
  }
  console.log('Change log');
  printChangeLog(preview.changeLog);
  // Blocking first, as the server orders them; sorted again here so that the order is ours to keep.
  const problems = [...preview.problems].sort(
    (a, b) => Number(b.severity === 'blocking') - Number(a.severity === 'blocking'),
  );
  const blocking = problems.filter((p) => p.severity === 'blocking').length;
  if (problems.length === 0) {
    console.log('Problems: none');
    return;
  }
  console.log(
    `Problems: ${blocking} blocking, ${problems.length - blocking} warning${problems.length - blocking === 1 ? '' : 's'}`,
  );
  for (const problem of problems) {
    console.log(`  ${describePublicationProblem(problem)}`);
  }
}

function printChangeLog(entries: DatasetVersion['changeLog']): void {
  if (entries.length === 0) {
    console.log('  (no changes)');
  }
  for (const entry of entries) {
    console.log(`  - ${entry.text}`);
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
