import type {
  HeldDecisionInput,
  HeldReview,
  LanternClient,
  PhiDecisionInput,
  PhiReview,
} from '@lantern/sdk';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, requireToken, resolveTarget } from '../connection.js';
import { printTable } from './describe.js';

/**
 * `lantern phi list SLUG`: the PHI review of a draft an ingest made, as the draft page shows it —
 * each finding of the scan (masked examples, never a value) with its decision, and each file held
 * back with its decision; what is still open blocks publication. Curators only.
 */
export async function listPhi(
  slug: string,
  options: { server?: string; json?: boolean },
): Promise<number> {
  const target = await resolveTarget(options.server);
  requireToken(target);
  const client = clientFor(target);
  let review: PhiReview;
  let held: HeldReview;
  try {
    review = await client.getPhiReview(slug);
    held = await client.getHeldFiles(slug);
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    console.log(JSON.stringify({ phi: review, held }, null, 2));
    return 0;
  }
  if (review.ingest === null) {
    console.log(`The draft of ${slug} was not made by an ingest: nothing to review.`);
    return 0;
  }
  console.log(
    `PHI findings of ${slug}'s draft (ingest ${review.ingest}): ${review.findings.length}, ${review.open.length} open`,
  );
  if (review.findings.length > 0) {
    printTable([
      ['  FINDING', 'KIND', 'CELLS', 'EXAMPLE', 'DECISION'],
      ...review.findings.map((finding) => {
        const decision =
          review.decisions.find(
            (d) => d.action === 'drop' && d.table === finding.table && d.column === finding.column,
          ) ?? review.decisions.find((d) => d.action === 'confirm' && d.finding === finding.id);
        const example = finding.examples[0];
        return [
          `  ${finding.id}`,
          finding.kind,
          String(finding.cells),
          example === undefined ? '-' : `row ${example.row}: ${example.masked}`,
          decision === undefined
            ? 'OPEN'
            : decision.action === 'drop'
              ? `dropped${decision.by === null ? '' : ` by ${decision.by}`}`
              : `not PHI${decision.by === null ? '' : ` by ${decision.by}`}: ${decision.note}`,
        ];
      }),
    ]);
  }
  console.log('');
  console.log(`Held back: ${held.files.length} files, ${held.open} open`);
  if (held.files.length > 0) {
    printTable([
      ['  FILE', 'PATH', 'DECISION', 'REASON'],
      ...held.files.map((file) => [
        `  ${file.id}`,
        file.path,
        file.decision === null
          ? 'OPEN'
          : `${file.decision === 'release' ? 'released' : 'excluded'}${file.by === null ? '' : ` by ${file.by}`}`,
        file.reason,
      ]),
    ]);
  }
  const open = review.open.length + held.open;
  console.log('');
  console.log(
    open === 0
      ? `Nothing open: lantern publish ${slug}`
      : `Next: lantern phi decide ${slug} --drop TABLE.COLUMN | --confirm FINDING --note WHY | --release FILE --note WHY | --exclude FILE`,
  );
  return 0;
}

/**
 * `lantern phi decide SLUG`: decisions on a draft's PHI findings (`--drop` a column, `--confirm`
 * a finding is not PHI) and held files (`--release` with the reason its burned-in text does not
 * identify anyone, `--exclude`), sent through the same API as the draft page. `--note` says why,
 * and is required to confirm or release.
 */
export async function decidePhi(
  slug: string,
  options: {
    server?: string;
    drop?: string[];
    confirm?: string[];
    release?: string[];
    exclude?: string[];
    note?: string;
  },
): Promise<number> {
  const note = options.note?.trim() ?? '';
  const drops = options.drop ?? [];
  const confirms = options.confirm ?? [];
  const releases = options.release ?? [];
  const exclusions = options.exclude ?? [];
  if (drops.length + confirms.length + releases.length + exclusions.length === 0) {
    throw new CliError(2, 'nothing to decide: give --drop, --confirm, --release or --exclude');
  }
  if (note === '' && confirms.length + releases.length > 0) {
    throw new CliError(
      2,
      '--note is required to confirm a finding is not PHI or to release a held file: say why',
    );
  }
  const phi: PhiDecisionInput[] = [];
  for (const column of drops) {
    const dot = column.indexOf('.');
    if (dot <= 0 || dot === column.length - 1) {
      throw new CliError(2, `--drop takes TABLE.COLUMN, not ${JSON.stringify(column)}`);
    }
    phi.push({
      action: 'drop',
      table: column.slice(0, dot),
      column: column.slice(dot + 1),
      ...(note === '' ? {} : { note }),
    });
  }
  for (const finding of confirms) {
    phi.push({ action: 'confirm', finding, note });
  }
  const target = await resolveTarget(options.server);
  requireToken(target);
  const client = clientFor(target);
  try {
    const idOf = await heldIdsOf(client, slug, [...releases, ...exclusions]);
    const held: HeldDecisionInput[] = [
      ...releases.map((file) => ({ file: idOf(file), action: 'release' as const, note })),
      ...exclusions.map((file) => ({
        file: idOf(file),
        action: 'exclude' as const,
        ...(note === '' ? {} : { note }),
      })),
    ];
    if (phi.length > 0) {
      const review = await client.decidePhi(slug, phi);
      console.log(
        `Decided ${phi.length} PHI ${phi.length === 1 ? 'finding' : 'findings'} of ${slug}: ${review.open.length} open`,
      );
    }
    if (held.length > 0) {
      const review = await client.decideHeldFiles(slug, held);
      console.log(
        `Decided ${held.length} held ${held.length === 1 ? 'file' : 'files'} of ${slug}: ${review.open} open`,
      );
    }
  } catch (error) {
    throw describeFailure(error, target);
  }
  return 0;
}

/**
 * Held files are named by id (`held_…`) or by the path they would have in the version, as the
 * ingest's report and the draft page show them: the paths are looked up in the draft's held
 * files. A name that is neither goes as it is, for the server to refuse.
 */
async function heldIdsOf(
  client: LanternClient,
  slug: string,
  files: readonly string[],
): Promise<(file: string) => string> {
  if (files.every((file) => file.startsWith('held_'))) {
    return (file) => file;
  }
  const review = await client.getHeldFiles(slug);
  const byPath = new Map(review.files.map((file) => [file.path, file.id]));
  return (file) => byPath.get(file) ?? file;
}
