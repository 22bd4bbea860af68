/**
 * The review of files an ingest held back (issue 6, step 4): images whose pixels may carry
 * burned-in text (Burned In Annotation YES, or a modality that usually has some), NumPy archives
 * with arrays the partner named otherwise than ECG arrays (renamed: what they hold is unknown),
 * and files no de-identifier reads. Ingest keeps each held image's and archive's de-identified
 * bytes — headers cleaned by PS3.15, pixels as they are; arrays as they are under names of ours —
 * in the quarantine store, apart from every published object and never named by a version's
 * files. A curator looks at a rendered preview (the image; the arrays plotted) (curators only; the
 * quarantined bytes themselves never leave) and decides, file by file or many at once:
 *
 * - release: the bytes are stored content-addressed in the published store and put in the draft
 *   at the path the table already names, with a required note saying why what it shows (the
 *   text in the pixels, the arrays' values) does not identify anyone;
 * - exclude: the file stays out, and the table cells that named it are emptied, as cells that
 *   could not be de-identified are (the row and its other columns stay: outcomes are worth
 *   keeping without their image). A file no de-identifier reads can only be excluded.
 *
 * Publication waits for a decision on every held file of the draft's last ingest (the catalog's
 * publication problems), as it waits for every PHI finding. Every decision is audited, in the
 * transaction that records it.
 *
 * Crash safety: a release copies the bytes into the published store before the transaction that
 * records the decision and names the file in the draft; a crash in between leaves an object no row
 * refers to, which the object sweep removes. An exclusion is recorded first and the table cells
 * emptied after; a crash in between leaves the cells naming a file the version does not have, as
 * every held file's cells did before this review, and deciding is refused as already done.
 * The quarantine is swept like the published store: what no draft's last ingest holds goes.
 */
import { AppError } from '@lantern/core';
import {
  downscale,
  encodePng,
  FormatError,
  plotArrays,
  readDicom,
  readNpz,
  renderFrame8,
  type Image8,
} from '@lantern/formats';
import type { Kysely } from 'kysely';
import type { Database, HeldDecision, HeldFormat } from '../../db/schema.js';
import {
  heldFileRepository,
  type HeldFileRow,
} from '../../repositories/ingest/held-file.repository.js';
import { ingestRepository } from '../../repositories/ingest/ingest.repository.js';
import { usersRepository } from '../../repositories/identity/users.repository.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { AuditService } from '../audit/audit.service.js';
import type { CatalogService } from '../catalog/catalog.service.js';

/** One held file as curators see it. */
export interface HeldFileView {
  id: string;
  /** The path the file has in the version once released (pseudonymous). */
  path: string;
  table: string;
  column: string;
  format: HeldFormat;
  reason: string;
  size: number | null;
  /** Whether a preview can be rendered (a quarantined DICOM image or NumPy archive). */
  previewable: boolean;
  decision: HeldDecision | null;
  note: string | null;
  /** Who decided (their name; "Lantern" for the demo catalogue) and when. */
  by: string | null;
  at: string | null;
}

/** The held files of a draft's last ingest, and how many still wait for a decision. */
export interface HeldReviewView {
  ingest: string | null;
  files: HeldFileView[];
  open: number;
  blocked: boolean;
}

/** A curator's decision on one held file. */
export type HeldFileDecision =
  | { file: string; action: 'release'; note: string }
  | { file: string; action: 'exclude'; note?: string };

/** A held file and the decision to carry out on it. */
export interface HeldDecidedRow {
  row: Pick<HeldFileRow, 'path' | 'table_name' | 'column_name' | 'quarantine_key'>;
  action: HeldDecision;
}

/** Previews are shrunk to fit this many pixels a side. */
const PREVIEW_MAX_SIDE = 1024;
/** The largest quarantined file rendered (the DICOM reader's own default limit). */
const PREVIEW_MAX_BYTES = 1024 * 1024 * 1024;

export class HeldFilesService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    private readonly stores: { published: ObjectStore; quarantine: ObjectStore },
  ) {}

  /** The held files of a dataset's draft (its last finished ingest's). */
  async review(slug: string): Promise<HeldReviewView> {
    const { draftId } = await this.catalog.draftIds(slug);
    const run = await ingestRepository.latestDone(this.db, draftId);
    if (run === undefined) {
      return { ingest: null, files: [], open: 0, blocked: false };
    }
    return this.reviewOf(run.id, await heldFileRepository.ofRun(this.db, run.id));
  }

  /**
   * Records decisions on held files: all of them or none (each file must be held by the draft's
   * last ingest and still undecided; a release needs quarantined bytes and a note). `by` is who
   * decides (`user:<id>`; the demo catalogue decides as `system:lantern`).
   */
  async decide(
    slug: string,
    decisions: readonly HeldFileDecision[],
    by = 'system:lantern',
  ): Promise<HeldReviewView> {
    const { draftId } = await this.catalog.draftIds(slug);
    const last = await ingestRepository.latest(this.db, draftId);
    if (last?.status === 'running') {
      throw new AppError(
        'conflict',
        `an ingest into the draft of ${slug} is running; decide on its held files once it is done`,
      );
    }
    const run = await ingestRepository.latestDone(this.db, draftId);
    if (run === undefined) {
      throw new AppError('not_found', `the draft of ${slug} was not made by an ingest`);
    }
    const rows = new Map(
      (await heldFileRepository.ofRun(this.db, run.id)).map((row) => [row.id, row]),
    );
    const seen = new Set<string>();
    for (const decision of decisions) {
      const row = rows.get(decision.file);
      if (row === undefined) {
        throw new AppError('validation_failed', `no held file ${decision.file} in this draft`);
      }
      if (seen.has(row.id)) {
        throw new AppError('validation_failed', `${row.path} is decided twice in one request`);
      }
      seen.add(row.id);
      if (row.decision !== null) {
        throw alreadyDecided(row);
      }
      if (decision.action === 'release' && row.quarantine_key === null) {
        throw new AppError(
          'validation_failed',
          `${row.path} cannot be released: no de-identifier reads it, so there is nothing cleaned to publish; exclude it`,
        );
      }
    }

    const decided = decisions.flatMap((decision) => {
      const row = rows.get(decision.file);
      return row === undefined ? [] : [{ row, action: decision.action }];
    });
    // Released bytes go into the published store first: a crash here leaves objects the sweep takes.
    const released = await this.publishReleased(decided);

    await this.db.transaction().execute(async (trx) => {
      // Locked, then checked again: two curators deciding the same file at once, one wins.
      const locked = await heldFileRepository.ofRunForUpdate(trx, run.id, [...seen]);
      for (const row of locked) {
        if (row.decision !== null) {
          throw alreadyDecided(row);
        }
      }
      for (const decision of decisions) {
        const row = rows.get(decision.file);
        if (row === undefined) {
          continue;
        }
        const note = decision.note?.trim() ?? '';
        await heldFileRepository.decide(trx, row.id, {
          decision: decision.action,
          note: note === '' ? null : note,
          by,
        });
        await this.audit.record(trx, {
          action: decision.action === 'release' ? 'ingest.held_release' : 'ingest.held_exclude',
          target: `dataset:${slug}`,
          details: { ingest: run.id, file: row.id, path: row.path, format: row.format },
        });
      }
      if (released.length > 0) {
        await this.catalog.putDraftFiles(trx, slug, released);
      }
    });

    await this.emptyExcludedCells(slug, decided);
    return this.reviewOf(run.id, await heldFileRepository.ofRun(this.db, run.id));
  }

  /**
   * A held file as a PNG at most 1024 pixels a side, for curators to see what is in doubt, never
   * the file itself: an image rendered 8-bit through its VOI window (its burned-in text), an
   * archive's arrays plotted (packages/formats).
   */
  async preview(slug: string, fileId: string): Promise<Uint8Array> {
    const { draftId } = await this.catalog.draftIds(slug);
    const run = await ingestRepository.latestDone(this.db, draftId);
    const row =
      run === undefined
        ? undefined
        : (await heldFileRepository.ofRun(this.db, run.id)).find((r) => r.id === fileId);
    if (row === undefined) {
      throw new AppError('not_found', `no held file ${fileId} in the draft of ${slug}`);
    }
    if (row.quarantine_key === null || row.format === 'unreadable') {
      throw new AppError('not_found', `${row.path} has no preview: no de-identifier reads it`);
    }
    const object = await this.stores.quarantine.get(row.quarantine_key);
    if (object === null) {
      throw new AppError('not_found', `the quarantined bytes of ${row.path} are gone`);
    }
    if (object.size > PREVIEW_MAX_BYTES) {
      object.body.destroy();
      throw new AppError('conflict', `${row.path} is too large to preview`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of object.body) {
      const bytes = chunk as Uint8Array;
      size += bytes.byteLength;
      if (size > PREVIEW_MAX_BYTES) {
        object.body.destroy();
        throw new AppError('conflict', `${row.path} is too large to preview`);
      }
      chunks.push(bytes);
    }
    try {
      return encodePng(
        downscale(render(row.format, Buffer.concat(chunks), row.path), PREVIEW_MAX_SIDE),
      );
    } catch (error) {
      if (error instanceof FormatError) {
        throw new AppError('conflict', `${row.path} cannot be rendered (${error.code})`);
      }
      throw error;
    }
  }

  /**
   * Carries out decisions a new delivery carried over from the review before it (ingest.service.ts
   * and carry-decisions.ts), before its run is done: released files' bytes go into the published
   * store (returned, for the run's transaction to put in the draft with the decisions), excluded
   * files' cells are emptied. A crash before the run is done leaves it unfinished, which the
   * catalog refuses to publish, and the decisions with the review they came from.
   */
  async carryOut(
    slug: string,
    decided: readonly HeldDecidedRow[],
  ): Promise<{ path: string; objectKey: string; size: number }[]> {
    const released = await this.publishReleased(decided);
    await this.emptyExcludedCells(slug, decided);
    return released;
  }

  /** The released files' bytes copied into the published store, for the draft. */
  private async publishReleased(
    decided: readonly HeldDecidedRow[],
  ): Promise<{ path: string; objectKey: string; size: number }[]> {
    const released: { path: string; objectKey: string; size: number }[] = [];
    for (const { row, action } of decided) {
      if (action === 'release' && row.quarantine_key !== null) {
        released.push({ path: row.path, ...(await this.publish(row.quarantine_key)) });
      }
    }
    return released;
  }

  /** Empties the table cells that name excluded files, one rewrite per table and column. */
  private async emptyExcludedCells(slug: string, decided: readonly HeldDecidedRow[]) {
    const excluded = new Map<string, { table: string; column: string; paths: Set<string> }>();
    for (const { row, action } of decided) {
      if (action === 'exclude') {
        const key = `${row.table_name}\u0000${row.column_name}`;
        const entry = excluded.get(key) ?? {
          table: row.table_name,
          column: row.column_name,
          paths: new Set<string>(),
        };
        entry.paths.add(row.path);
        excluded.set(key, entry);
      }
    }
    for (const { table, column, paths } of excluded.values()) {
      await this.catalog.rewriteTable(slug, table, (columns) => {
        const index = columns.indexOf(column);
        if (index < 0) {
          return null;
        }
        return {
          columns,
          row: (values) =>
            values.map((value, i) =>
              i === index && value !== null && paths.has(value) ? null : value,
            ),
        };
      });
    }
  }

  /** Copies quarantined bytes into the published store, checking they are still what was held. */
  private async publish(quarantineKey: string): Promise<{ objectKey: string; size: number }> {
    const object = await this.stores.quarantine.get(quarantineKey);
    if (object === null) {
      throw new AppError(
        'conflict',
        'the quarantined bytes of a held file are gone; ingest the delivery again',
      );
    }
    const stored = await this.stores.published.put(object.body);
    // Content-addressed in both stores: the same bytes have the same key.
    if (stored.key !== quarantineKey) {
      throw new Error(`the quarantined object ${quarantineKey} does not hold the bytes it names`);
    }
    return { objectKey: stored.key, size: stored.size };
  }

  private async reviewOf(ingest: string, rows: readonly HeldFileRow[]): Promise<HeldReviewView> {
    const names = new Map<string, string | null>();
    for (const { decided_by: by } of rows) {
      if (by !== null && !names.has(by)) {
        names.set(by, await this.nameOf(by));
      }
    }
    const open = rows.filter((row) => row.decision === null).length;
    return {
      ingest,
      files: rows.map((row) => ({
        id: row.id,
        path: row.path,
        table: row.table_name,
        column: row.column_name,
        format: row.format,
        reason: row.reason,
        size: row.size === null ? null : Number(row.size),
        previewable: row.format !== 'unreadable' && row.quarantine_key !== null,
        decision: row.decision,
        note: row.note,
        by: row.decided_by === null ? null : (names.get(row.decided_by) ?? null),
        at: row.decided_at === null ? null : row.decided_at.toISOString(),
      })),
      open,
      blocked: open > 0,
    };
  }

  /** A decider's name: a person's, or "Lantern" for the platform's own (the demo catalogue's). */
  private async nameOf(actor: string): Promise<string | null> {
    if (actor === 'system:lantern') {
      return 'Lantern';
    }
    if (!actor.startsWith('user:')) {
      return null;
    }
    return (await usersRepository.findById(this.db, actor.slice('user:'.length)))?.name ?? null;
  }
}

/** A quarantined file's picture: a DICOM image's first frame, or an archive's arrays plotted. */
function render(format: 'dicom' | 'numpy', bytes: Uint8Array, name: string): Image8 {
  switch (format) {
    case 'dicom': {
      const frame = renderFrame8(readDicom(bytes, { name }), 0);
      return {
        width: frame.width,
        height: frame.height,
        channels: frame.samplesPerPixel === 3 ? 3 : 1,
        data: frame.data,
      };
    }
    case 'numpy':
      return plotArrays([...readNpz(bytes, { name }).values()], { width: PREVIEW_MAX_SIDE });
    default:
      return format satisfies never;
  }
}

function alreadyDecided(row: HeldFileRow): AppError {
  return new AppError(
    'conflict',
    `${row.path} was ${row.decision === 'release' ? 'released' : 'excluded'} already`,
  );
}
