import { describeCarriedDecisions, formatBytes, formatDuration } from '@lantern/core/ingest';
import { ApiError, type IngestProgress, type IngestUpload } from '@lantern/sdk';
import { isTransientUploadFailure } from '@lantern/sdk/upload';
import { useCallback, useEffect, useRef, useState, type ChangeEvent, type DragEvent } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { can, useSession } from '../../session.js';
import { problemOf } from './catalog-text.js';
import {
  checkDelivery,
  DropError,
  filesFromDrop,
  filesFromInput,
  type CheckedDelivery,
  type DeliveryProblem,
} from './delivery-files.js';
import {
  FileAltered,
  FileUnreadable,
  HashingUnavailable,
  isForgotten,
  remainingToSend,
  sendDeliveryFiles,
  UploadAborted,
} from './upload-delivery.js';
import { UploadDigests } from './upload-digests.js';

/**
 * /datasets/ingest (curators, issue 6): a partner's delivery folder sent from the browser and
 * ingested on the server. The curator picks or drops the folder and sees what will be sent; the
 * files go a few at a time with a progress bar (bytes, rate, time left) and may be cancelled,
 * which deletes what the server holds; the ingest then runs on the server, followed live, and the
 * page ends on the draft made — or on every problem of a refused delivery. The upload's id is
 * kept for the tab, so a reload finds the run again. An upload interrupted (a lost connection, a
 * reload, a server restart) resumes: the server keeps what it received, and once the curator
 * picks the same folder again only the missing bytes are sent, the progress bar starting where
 * it was. An upload the server no longer knows (cancelled, an hour idle) is said to be gone.
 * Every file is checked end to end by its SHA-256, worked out in a worker so the page stays
 * responsive (upload-delivery.ts): one that reaches the server altered is named, the server keeps
 * nothing of it, and Resume sends it again. Resuming hashes again the files the server holds
 * whole: one changed on disk since it was sent is named, and the folder is asked for again.
 */

/** How often a running ingest is asked where it stands. */
const POLL_MS = 500;
/** Where the tab keeps the upload it follows. */
const STORAGE_KEY = 'lantern.ingest.upload';

type Stage =
  | { kind: 'empty' }
  | { kind: 'reading' }
  | { kind: 'picked'; delivery: CheckedDelivery }
  | {
      kind: 'uploading';
      delivery: CheckedDelivery;
      id: string | null;
      /** Files the server holds whole hashed again so far, while a resumed upload checks them. */
      checked: { done: number; total: number } | null;
    }
  | {
      kind: 'paused';
      delivery: CheckedDelivery;
      id: string;
      message: string;
      /** Files the server discarded, to be sent again from their start. */
      problems: DeliveryProblem[];
    }
  | { kind: 'running'; upload: IngestUpload }
  | { kind: 'finished'; upload: IngestUpload }
  | { kind: 'interrupted'; upload: IngestUpload; problems: DeliveryProblem[] }
  | { kind: 'cancelled' }
  | { kind: 'forgotten'; id: string }
  | { kind: 'error'; message: string; problems: DeliveryProblem[] };

/** Bytes sent of all, and since when (the page's clock, milliseconds). */
interface Sending {
  /** What the server held when these sends began (an upload resumed). */
  base: number;
  sent: number;
  total: number;
  files: number;
  filesDone: number;
  startedAt: number;
  now: number;
}

const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

function rememberUpload(id: string | null) {
  if (id === null) {
    sessionStorage.removeItem(STORAGE_KEY);
  } else {
    sessionStorage.setItem(STORAGE_KEY, id);
  }
}

/** The problems an API refusal lists (`body.files.3.path: …`), or none. */
function problemsOf(error: unknown): DeliveryProblem[] {
  if (!(error instanceof ApiError)) {
    return [];
  }
  return (error.problem.errors ?? []).map((e) => ({ path: e.path, message: e.message }));
}

/** A folder picked to resume an upload that is not the folder it declared. */
class NotTheFolder extends Error {
  override readonly name = 'NotTheFolder';
  constructor(readonly problems: DeliveryProblem[]) {
    super('the folder is not the one this upload declared');
  }
}

export function IngestPage({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
  const [stage, setStage] = useState<Stage>({ kind: 'empty' });
  const [sending, setSending] = useState<Sending | null>(null);
  const [dragging, setDragging] = useState(false);
  const [pollTrouble, setPollTrouble] = useState<string | null>(null);
  const abortRef = useRef<AbortController | null>(null);
  // The files' hashes as far as they were sent: a Resume goes on from them.
  const [digests] = useState(() => new UploadDigests());
  const headingRef = useRef<HTMLHeadingElement>(null);

  // The hashing worker ends with the page (and starts again if it comes back).
  useEffect(() => () => digests.close(), [digests]);

  // Each new stage is announced by moving focus to the page's heading of it.
  useEffect(() => {
    headingRef.current?.focus();
  }, [stage.kind]);

  const follow = useCallback((upload: IngestUpload) => {
    if (upload.status === 'running') {
      setStage({ kind: 'running', upload });
    } else if (upload.status === 'uploading') {
      setStage({ kind: 'interrupted', upload, problems: [] });
    } else {
      setStage({ kind: 'finished', upload });
    }
  }, []);

  // A tab that followed an upload finds it again (a reload during a run).
  useEffect(() => {
    if (user === undefined || !can(user, 'catalog.curate')) {
      return;
    }
    const id = sessionStorage.getItem(STORAGE_KEY);
    if (id === null) {
      return;
    }
    api.getIngestUpload(id).then(follow, (caught: unknown) => {
      rememberUpload(null);
      setStage(
        isForgotten(caught)
          ? { kind: 'forgotten', id }
          : { kind: 'error', message: problemOf(caught), problems: [] },
      );
    });
  }, [user, follow]);

  // A running ingest is asked where it stands until it ends.
  const runningId = stage.kind === 'running' ? stage.upload.id : null;
  useEffect(() => {
    if (runningId === null) {
      return;
    }
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      api.getIngestUpload(runningId).then(
        (upload) => {
          if (!live) {
            return;
          }
          setPollTrouble(null);
          follow(upload);
          if (upload.status === 'running') {
            timer = setTimeout(poll, POLL_MS);
          }
        },
        (caught: unknown) => {
          if (!live) {
            return;
          }
          if (isForgotten(caught)) {
            rememberUpload(null);
            setStage({ kind: 'forgotten', id: runningId });
            return;
          }
          // The server may be restarting: keep asking, and say so.
          setPollTrouble(`${problemOf(caught)}; still asking…`);
          timer = setTimeout(poll, POLL_MS * 4);
        },
      );
    };
    timer = setTimeout(poll, POLL_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [runningId, follow]);

  // Leaving the page while files are sent would leave the upload half done.
  const uploading = stage.kind === 'uploading';
  useEffect(() => {
    if (!uploading) {
      return;
    }
    const handleBeforeUnload = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', handleBeforeUnload);
    return () => window.removeEventListener('beforeunload', handleBeforeUnload);
  }, [uploading]);

  const pick = (read: Promise<{ folder: string | null; files: CheckedDelivery['files'] }>) => {
    // Picked while an upload waits to resume: the folder goes on where the upload stopped.
    const resume = stage.kind === 'interrupted' ? stage.upload : null;
    setStage({ kind: 'reading' });
    read
      .then(({ folder, files }) => checkDelivery(folder, files))
      .then(
        (delivery) =>
          resume === null
            ? setStage({ kind: 'picked', delivery })
            : handleSend(delivery, resume.id),
        (caught: unknown) =>
          setStage({
            kind: 'error',
            message:
              caught instanceof DropError
                ? caught.message
                : `the folder could not be read (${caught instanceof Error ? caught.message : String(caught)})`,
            problems: [],
          }),
      );
  };

  const handleInput = (event: ChangeEvent<HTMLInputElement>) => {
    const list = event.currentTarget.files;
    if (list !== null && list.length > 0) {
      pick(Promise.resolve(filesFromInput(list)));
    }
    // Picking the same folder again is a new pick.
    event.currentTarget.value = '';
  };

  const handleDrop = (event: DragEvent<HTMLElement>) => {
    event.preventDefault();
    setDragging(false);
    pick(filesFromDrop(event.dataTransfer.items));
  };

  /**
   * Sends a delivery: declared first when new, or the rest of the upload `resumeId`; the server
   * says what it holds of each file, and only the rest is sent, then the ingest is run. A folder
   * that is not the upload's (a file missing, of another size, changed since it was sent, or no
   * longer readable) goes back to the upload, `interrupted`, saying how.
   */
  const handleSend = (delivery: CheckedDelivery, resumeId: string | null) => {
    const controller = new AbortController();
    abortRef.current = controller;
    setSending(null);
    setStage({ kind: 'uploading', delivery, id: resumeId, checked: null });
    let id = resumeId;
    const upload = async () => {
      // Nothing goes, not even the declaration, unless it can be checked.
      await digests.ready();
      if (id === null) {
        const created = await api.createIngestUpload(
          delivery.files.map((f) => ({ path: f.path, size: f.file.size })),
        );
        id = created.id;
        rememberUpload(id);
        if (controller.signal.aborted) {
          throw new UploadAborted('the upload was cancelled');
        }
        setStage({ kind: 'uploading', delivery, id, checked: null });
      }
      const declared = await api.listIngestUploadFiles(id);
      const uploadId = id;
      const remaining = await remainingToSend(declared, delivery.files, digests, (done, total) =>
        setStage({
          kind: 'uploading',
          delivery,
          id: uploadId,
          checked: total === 0 ? null : { done, total },
        }),
      );
      if (remaining.problems.length > 0) {
        throw new NotTheFolder(remaining.problems);
      }
      const started = performance.now();
      setSending({
        base: remaining.held,
        sent: remaining.held,
        total: delivery.bytes,
        files: declared.length,
        filesDone: declared.filter((f) => f.received === f.size).length,
        startedAt: started,
        now: started,
      });
      await sendDeliveryFiles({
        id,
        files: remaining.pending,
        digests,
        signal: controller.signal,
        onBytes: (sent) =>
          setSending((s) =>
            s === null ? s : { ...s, sent: s.base + sent, now: performance.now() },
          ),
        onFile: (after) =>
          setSending((s) => (s === null ? s : { ...s, filesDone: after.files.received })),
      });
      return api.runIngestUpload(id);
    };
    upload().then(
      (running) => {
        abortRef.current = null;
        follow(running);
      },
      (caught: unknown) => {
        abortRef.current = null;
        if (caught instanceof UploadAborted) {
          return;
        }
        if (isForgotten(caught) && id !== null) {
          rememberUpload(null);
          setStage({ kind: 'forgotten', id });
          return;
        }
        if (caught instanceof HashingUnavailable) {
          setStage({
            kind: 'error',
            message: `${caught.message}. Nothing was sent unchecked: reload the page to try again, or send the folder with lantern ingest --server`,
            problems: [],
          });
          return;
        }
        const notTheFolder =
          caught instanceof NotTheFolder
            ? caught.problems
            : caught instanceof FileUnreadable
              ? [{ path: caught.path, message: FileUnreadable.reason }]
              : null;
        if (notTheFolder !== null && id !== null) {
          // The server keeps what it received; the folder picked again goes on from there.
          const problems = notTheFolder;
          api.getIngestUpload(id).then(
            (upload) => setStage({ kind: 'interrupted', upload, problems }),
            (failed: unknown) =>
              setStage({ kind: 'error', message: problemOf(failed), problems: problemsOf(failed) }),
          );
          return;
        }
        if (caught instanceof FileAltered && id !== null) {
          setStage({
            kind: 'paused',
            delivery,
            id,
            message: caught.message,
            problems: [
              {
                path: caught.path,
                message: 'arrived altered; nothing of it was kept, and Resume sends it again',
              },
            ],
          });
          // The bar counted the file's bytes as sent: it says what the server holds instead (or,
          // the server not answering, stays as it was; Resume asks again).
          api.getIngestUpload(id).then(
            (now) => setSending((s) => (s === null ? s : { ...s, sent: now.bytes.received })),
            () => undefined,
          );
          return;
        }
        // The server keeps what it received: a lost connection or a server away for a moment
        // leaves an upload to resume.
        if (id !== null && isTransientUploadFailure(caught)) {
          setStage({ kind: 'paused', delivery, id, message: problemOf(caught), problems: [] });
          return;
        }
        setStage({ kind: 'error', message: problemOf(caught), problems: problemsOf(caught) });
      },
    );
  };

  const handleCancel = (id: string | null) => {
    if (
      !window.confirm(
        'Cancel the upload? Sending stops, and the files the server has received are deleted.',
      )
    ) {
      return;
    }
    abortRef.current?.abort();
    abortRef.current = null;
    rememberUpload(null);
    const cancelled = id === null ? Promise.resolve() : api.cancelIngestUpload(id);
    cancelled.then(
      () => setStage({ kind: 'cancelled' }),
      (caught: unknown) =>
        // Gone already is cancelled too.
        isForgotten(caught)
          ? setStage({ kind: 'cancelled' })
          : setStage({ kind: 'error', message: problemOf(caught), problems: [] }),
    );
  };

  const handleStartOver = () => {
    rememberUpload(null);
    setSending(null);
    setStage({ kind: 'empty' });
  };

  if (user !== undefined && !can(user, 'catalog.curate')) {
    return <p role="alert">Only curators ingest deliveries.</p>;
  }

  const picker = (
    <section
      aria-labelledby="pick-title"
      className={dragging ? 'dropzone dragging' : 'dropzone'}
      data-testid="dropzone"
      onDragOver={(event) => {
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={handleDrop}
    >
      <h2 id="pick-title">Choose the folder</h2>
      <p className="muted">
        The folder a partner delivered, with <code>delivery.yaml</code> at its top, its tables and
        its files. Drop it here, or choose it:
      </p>
      <label>
        Delivery folder
        <input
          type="file"
          // React knows no webkitdirectory prop: spread as a plain attribute.
          {...{ webkitdirectory: '', directory: '' }}
          multiple
          onChange={handleInput}
          data-testid="delivery-input"
        />
      </label>
    </section>
  );

  return (
    <article aria-labelledby="ingest-title" className="ingest">
      <p>
        <Link to="/datasets" navigate={navigate}>
          Back to the datasets
        </Link>
      </p>
      <h1 id="ingest-title">Ingest a delivery</h1>
      <p className="muted">
        The server de-identifies the delivery (pseudonyms, shifted dates, DICOM profile), scans it
        for PHI and makes a draft of its dataset. The files sent are deleted once the ingest ends.
      </p>
      <div aria-live="polite">
        <StageView
          stage={stage}
          sending={sending}
          pollTrouble={pollTrouble}
          headingRef={headingRef}
          picker={picker}
          navigate={navigate}
          onUpload={(delivery) => handleSend(delivery, null)}
          onResume={(delivery, id) => handleSend(delivery, id)}
          onCancel={handleCancel}
          onStartOver={handleStartOver}
        />
      </div>
    </article>
  );
}

interface StageViewProps {
  stage: Stage;
  sending: Sending | null;
  pollTrouble: string | null;
  headingRef: React.RefObject<HTMLHeadingElement | null>;
  picker: React.ReactNode;
  navigate: (to: string) => void;
  onUpload: (delivery: CheckedDelivery) => void;
  onResume: (delivery: CheckedDelivery, id: string) => void;
  onCancel: (id: string | null) => void;
  onStartOver: () => void;
}

function StageView(props: StageViewProps) {
  const { stage, headingRef, picker, onStartOver } = props;
  const heading = (text: string) => (
    <h2 ref={headingRef} tabIndex={-1} data-testid="stage-title">
      {text}
    </h2>
  );
  const again = (
    <button type="button" onClick={onStartOver}>
      Ingest another delivery
    </button>
  );
  switch (stage.kind) {
    case 'empty':
      return picker;
    case 'reading':
      return (
        <>
          {picker}
          <p role="status">Reading the folder…</p>
        </>
      );
    case 'picked':
      return (
        <>
          {picker}
          <DeliveryPreview delivery={stage.delivery} onUpload={props.onUpload} />
        </>
      );
    case 'uploading':
      return (
        <section aria-labelledby="stage-title">
          {heading('Sending the delivery')}
          {stage.checked !== null && (
            <p role="status" data-testid="upload-checking">
              Checking the files the server holds whole against their SHA-256: {stage.checked.done}{' '}
              of {plural(stage.checked.total, 'file')}…
            </p>
          )}
          {props.sending !== null && <SendProgress sending={props.sending} />}
          <button type="button" className="danger" onClick={() => props.onCancel(stage.id)}>
            Cancel the upload
          </button>
        </section>
      );
    case 'running':
      return (
        <section aria-labelledby="stage-title">
          {heading('Ingesting on the server')}
          <RunProgress upload={stage.upload} />
          {props.pollTrouble !== null && (
            <p role="alert" className="bad">
              {props.pollTrouble}
            </p>
          )}
          <p className="muted">
            The ingest cannot be cancelled once it runs: it ends with a draft or with nothing.
          </p>
        </section>
      );
    case 'finished':
      return (
        <section aria-labelledby="stage-title" data-testid="ingest-summary">
          {stage.upload.status === 'done' && stage.upload.summary !== null ? (
            <>
              {heading(`Draft of ${stage.upload.summary.dataset} made`)}
              <Summary summary={stage.upload.summary} navigate={props.navigate} />
            </>
          ) : stage.upload.status === 'refused' ? (
            <>
              {heading('The delivery was refused')}
              <p role="alert" className="bad">
                {stage.upload.error ?? 'the delivery cannot be ingested'}. Nothing was stored.
              </p>
              <ProblemList problems={stage.upload.problems} label="Every problem of the delivery" />
              <p>Fix the delivery, then choose its folder again.</p>
            </>
          ) : (
            <>
              {heading('The ingest failed')}
              <p role="alert" className="bad">
                {stage.upload.error ?? stage.upload.status}. The files sent were deleted; the draft
                is as it was before.
              </p>
            </>
          )}
          {again}
        </section>
      );
    case 'paused':
      return (
        <section aria-labelledby="stage-title">
          {heading('The upload stopped')}
          {props.sending !== null && <SendProgress sending={props.sending} />}
          <p role="alert" className="bad" data-testid="upload-paused">
            {stage.message}. The server keeps what it received: resume to send only the rest.
          </p>
          <ProblemList problems={stage.problems} label="Files to send again" />
          <button type="button" onClick={() => props.onResume(stage.delivery, stage.id)}>
            Resume the upload
          </button>{' '}
          <button type="button" className="danger" onClick={() => props.onCancel(stage.id)}>
            Cancel the upload
          </button>
        </section>
      );
    case 'interrupted':
      return (
        <section aria-labelledby="stage-title">
          {heading('An upload was interrupted')}
          <p role="status" data-testid="upload-interrupted">
            This tab was sending a delivery and stopped after{' '}
            {formatBytes(stage.upload.bytes.received)} of {formatBytes(stage.upload.bytes.declared)}{' '}
            ({plural(stage.upload.files.received, 'file')} of {stage.upload.files.declared}{' '}
            complete). The server keeps them: choose the same folder again, and only the rest is
            sent.
          </p>
          {stage.problems.length > 0 && (
            <>
              <p role="alert" className="bad">
                That folder is not the one this upload declared. Choose it as it was when it was
                sent, or cancel the upload and send the folder anew.
              </p>
              <ProblemList problems={stage.problems} label="How the folder differs" />
            </>
          )}
          {picker}
          <button type="button" className="danger" onClick={() => props.onCancel(stage.upload.id)}>
            Cancel the upload
          </button>
        </section>
      );
    case 'cancelled':
      return (
        <section aria-labelledby="stage-title">
          {heading('Upload cancelled')}
          <p role="status">Nothing was ingested; the files the server had received are deleted.</p>
          {again}
        </section>
      );
    case 'forgotten':
      return (
        <section aria-labelledby="stage-title">
          {heading('The server no longer has this upload')}
          <p role="alert" className="bad" data-testid="upload-forgotten">
            The server does not know the upload {stage.id}: it was cancelled, or it waited more than
            an hour, and the files it had received were deleted. If an ingest had begun, the draft
            page says whether it finished. Choose the folder again to send it anew.
          </p>
          {again}
        </section>
      );
    case 'error':
      return (
        <section aria-labelledby="stage-title">
          {heading('The delivery could not be sent')}
          <p role="alert" className="bad">
            {stage.message}
          </p>
          <ProblemList problems={stage.problems} label="What the server refused" />
          {again}
        </section>
      );
    default:
      return stage satisfies never;
  }
}

/** What will be sent, or why it cannot be. */
function DeliveryPreview({
  delivery,
  onUpload,
}: {
  delivery: CheckedDelivery;
  onUpload: (delivery: CheckedDelivery) => void;
}) {
  const { manifest, problems } = delivery;
  return (
    <section aria-labelledby="preview-title" data-testid="delivery-preview">
      <h2 id="preview-title">
        {delivery.folder === null ? 'The delivery' : `The delivery ${delivery.folder}`}
      </h2>
      <dl className="facts">
        <dt>Files</dt>
        <dd data-testid="delivery-files">{delivery.files.length.toLocaleString('en')}</dd>
        <dt>Size</dt>
        <dd data-testid="delivery-bytes">{formatBytes(delivery.bytes)}</dd>
        <dt>delivery.yaml</dt>
        <dd data-testid="delivery-manifest">
          {manifest !== null
            ? `found: dataset ${manifest.dataset} from ${manifest.partner}, ${plural(manifest.tables.length, 'table')} (${manifest.tables.map((t) => t.name).join(', ')})`
            : delivery.files.some((f) => f.path === 'delivery.yaml')
              ? 'found, but it does not read as a manifest'
              : 'not found'}
        </dd>
      </dl>
      {problems.length > 0 ? (
        <>
          <p role="alert" className="bad">
            This folder cannot be ingested: {plural(problems.length, 'problem')}.
          </p>
          <ProblemList problems={problems} label="Problems of the folder" />
        </>
      ) : (
        <button type="button" onClick={() => onUpload(delivery)}>
          Upload and ingest
        </button>
      )}
    </section>
  );
}

function ProblemList({ problems, label }: { problems: DeliveryProblem[]; label: string }) {
  if (problems.length === 0) {
    return null;
  }
  return (
    <ul className="problems" aria-label={label} data-testid="problems">
      {problems.map((p, i) => (
        <li key={`${i}:${p.path}`}>
          <code>{p.path}</code>: {p.message}
        </li>
      ))}
    </ul>
  );
}

/** The bytes sent of all, at what rate and with how long left. */
function SendProgress({ sending }: { sending: Sending }) {
  const elapsed = (sending.now - sending.startedAt) / 1000;
  // The pace of these sends: bytes the server held before them took no time now.
  const rate = elapsed > 0 ? (sending.sent - sending.base) / elapsed : 0;
  const left = rate > 0 ? (sending.total - sending.sent) / rate : null;
  const text = [
    `${formatBytes(sending.sent)} of ${formatBytes(sending.total)}`,
    `${sending.filesDone} of ${plural(sending.files, 'file')}`,
    ...(rate > 0 ? [`${formatBytes(Math.round(rate))}/s`] : []),
    ...(left !== null && sending.sent < sending.total ? [`${formatDuration(left)} left`] : []),
  ].join(' · ');
  return (
    <div className="progress" data-testid="send-progress">
      <progress
        aria-label="Bytes sent"
        max={Math.max(1, sending.total)}
        value={sending.sent}
        aria-valuetext={text}
      />
      <p data-testid="send-progress-text">{text}</p>
    </div>
  );
}

const PHASES: Record<IngestProgress['phase'], string> = {
  checking: 'Checking the delivery',
  tables: 'De-identifying the tables',
  files: 'De-identifying and storing the files',
  scanning: 'Scanning for PHI and writing the draft',
  done: 'Finishing',
};

/** The server-side run: phase, items, bytes stored, rate and time left. */
function RunProgress({ upload }: { upload: IngestUpload }) {
  const progress = upload.progress;
  if (progress === null) {
    return <p role="status">Starting…</p>;
  }
  const unit = progress.phase === 'tables' ? 'table' : progress.phase === 'files' ? 'file' : 'step';
  const text = [
    `${progress.done} of ${plural(progress.total, unit)}`,
    `${formatBytes(progress.bytes)} stored`,
    ...(progress.bytesPerSecond === null ? [] : [`${formatBytes(progress.bytesPerSecond)}/s`]),
    ...(progress.secondsLeft === null ? [] : [`${formatDuration(progress.secondsLeft)} left`]),
  ].join(' · ');
  return (
    <div className="progress" data-testid="run-progress">
      <p data-testid="run-phase">
        <strong>{PHASES[progress.phase]}</strong>
      </p>
      <progress
        aria-label={PHASES[progress.phase]}
        max={Math.max(1, progress.total)}
        value={progress.done}
        aria-valuetext={text}
      />
      <p>{text}</p>
    </div>
  );
}

/** The draft made: counts, files held back, PHI findings and the next step. */
function Summary({
  summary,
  navigate,
}: {
  summary: NonNullable<IngestUpload['summary']>;
  navigate: (to: string) => void;
}) {
  const { counts, phi, publication } = summary;
  const draft = `/datasets/${encodeURIComponent(summary.dataset)}/draft`;
  const carried = describeCarriedDecisions(summary.decisions);
  return (
    <>
      <dl className="facts" data-testid="summary-counts">
        <dt>Tables</dt>
        <dd data-testid="count-tables">
          {counts.tables} ({plural(counts.rows, 'row')})
        </dd>
        <dt>Files delivered</dt>
        <dd data-testid="count-files">{counts.files.toLocaleString('en')}</dd>
        <dt>Files stored</dt>
        <dd data-testid="count-stored">
          {counts.stored.toLocaleString('en')} new, {counts.deduplicated.toLocaleString('en')}{' '}
          already in the store ({formatBytes(counts.bytes)})
        </dd>
        <dt>Files held back</dt>
        <dd data-testid="count-held">{counts.held.toLocaleString('en')}</dd>
        <dt>Next version</dt>
        <dd>
          {publication.version} ({publication.level})
        </dd>
      </dl>
      <h3 id="summary-tables">Tables</h3>
      <ul aria-labelledby="summary-tables">
        {summary.tables.map((t) => (
          <li key={t.name}>
            <code>{t.name}</code>: {plural(t.rows, 'row')}, {plural(t.columns.length, 'column')}
          </li>
        ))}
      </ul>
      {summary.held.length > 0 && (
        <>
          <h3 id="summary-held">Held back for review</h3>
          <ul aria-labelledby="summary-held" data-testid="summary-held">
            {summary.held.map((h) => (
              <li key={h.path}>
                <code>{h.path}</code>: {h.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>PHI scan</h3>
      {phi.findings.length === 0 ? (
        <p data-testid="summary-phi">The scan found nothing.</p>
      ) : (
        <p data-testid="summary-phi" className={phi.blocked ? 'bad' : undefined}>
          {plural(phi.findings.length, 'finding')}{' '}
          {phi.blocked ? 'to review' : 'found, each decided'} (
          {phi.findings.map((f) => `${f.table}.${f.column}: ${f.kind}`).join('; ')}).{' '}
          <Link to={`${draft}#phi-review`} navigate={navigate}>
            Review the PHI findings
          </Link>
        </p>
      )}
      {carried.length > 0 && (
        <>
          <h3 id="summary-decisions">Earlier decisions</h3>
          <ul aria-labelledby="summary-decisions" data-testid="summary-decisions">
            {carried.map((line) => (
              <li key={line}>{line.trim()}</li>
            ))}
          </ul>
        </>
      )}
      {publication.problems.length > 0 && (
        <>
          <h3 id="summary-blocking">Before publication</h3>
          <ul aria-labelledby="summary-blocking" data-testid="summary-blocking">
            {publication.problems.map((p, i) => (
              <li key={`${i}:${p.code}`}>
                {p.severity === 'blocking' ? 'Blocking' : 'Warning'}: {p.message}
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>Next step</h3>
      <p data-testid="summary-next">
        {phi.blocked
          ? 'Decide every PHI finding on the draft page (drop the column, or confirm it is not PHI), then publish.'
          : publication.publishable
            ? 'The draft can be published from its page.'
            : 'Fix the problems above on the draft page, then publish.'}{' '}
        <Link to={draft} navigate={navigate}>
          Open the draft
        </Link>
      </p>
    </>
  );
}
