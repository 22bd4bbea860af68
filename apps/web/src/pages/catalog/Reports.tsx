import type { DatasetReport, DatasetVersion } from '@lantern/sdk';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { Link } from '../../components/Link.js';
import { can, formText, useSession } from '../../session.js';
import { datasetPath, day, problemOf } from './catalog-text.js';

/**
 * "Report a problem" on the page where it was seen: the dataset as a whole, a table, or a column
 * (an inconsistent name, a wrong description, a suspicious value). Curators answer; the reporter
 * is emailed.
 */
export function ReportProblem({ slug, version }: { slug: string; version: DatasetVersion }) {
  const { user } = useSession();
  const [open, setOpen] = useState(false);
  const [table, setTable] = useState('');
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  if (!can(user, 'catalog.report')) {
    return (
      <p className="muted report-problem">
        Seen something wrong? Admitted researchers can report a problem here once signed in.
      </p>
    );
  }
  const columns = version.snapshot.tables.find((t) => t.name === table)?.columns ?? [];
  const handleSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const column = formText(form, 'column');
    setMessage(null);
    api
      .reportDatasetProblem(slug, {
        ...(version.version === null ? {} : { version: version.version }),
        ...(table === '' ? {} : { table }),
        ...(column === '' ? {} : { column }),
        text: formText(form, 'text'),
      })
      .then(
        () => {
          setMessage({
            text: 'Thank you: the curators will answer, and you will be emailed.',
            bad: false,
          });
          setOpen(false);
        },
        (caught: unknown) => setMessage({ text: problemOf(caught), bad: true }),
      );
  };
  return (
    <div className="report-problem">
      {message !== null && (
        <p role={message.bad ? 'alert' : 'status'} className={message.bad ? 'bad' : ''}>
          {message.text}
        </p>
      )}
      {open ? (
        <form onSubmit={handleSubmit} aria-label="Report a problem">
          <h2>Report a problem in version {version.version}</h2>
          <label>
            Where
            <select name="table" value={table} onChange={(e) => setTable(e.target.value)}>
              <option value="">the dataset as a whole</option>
              {version.snapshot.tables.map((t) => (
                <option key={t.name} value={t.name}>
                  table {t.name}
                </option>
              ))}
            </select>
          </label>
          {table !== '' && (
            <label>
              Column
              <select name="column" defaultValue="">
                <option value="">the whole table</option>
                {columns.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            What looks wrong
            <textarea name="text" rows={3} required minLength={10} />
          </label>
          <button type="submit">Send the report</button>{' '}
          <button type="button" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <button type="button" onClick={() => setOpen(true)}>
          Report a problem
        </button>
      )}
    </div>
  );
}

/** The reports a version fixed, beside its change log. */
export function FixedReports({ slug, version }: { slug: string; version: string }) {
  const [reports, setReports] = useState<Awaited<ReturnType<typeof api.listFixedReports>>>([]);
  useEffect(() => {
    api.listFixedReports(slug, version).then(setReports, () => setReports([]));
  }, [slug, version]);
  if (reports.length === 0) {
    return null;
  }
  return (
    <>
      <h4>Reported problems fixed</h4>
      <ul data-testid={`fixed-reports-${version}`}>
        {reports.map((r) => (
          <li key={r.id}>
            {r.table === null ? '' : `${r.table}${r.column === null ? '' : `.${r.column}`}: `}
            {r.text}
            {r.answer !== null && <span className="muted"> — {r.answer}</span>}
          </li>
        ))}
      </ul>
    </>
  );
}

/** /datasets/reports: the curators' queue of reported problems, answered and closed here. */
export function ReportsQueuePage({ navigate }: { navigate: (to: string) => void }) {
  const { user } = useSession();
  const [status, setStatus] = useState<DatasetReport['status']>('open');
  const [reports, setReports] = useState<DatasetReport[] | null>(null);
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const allowed = can(user, 'catalog.curate');
  const load = useCallback(async () => {
    try {
      setReports(await api.listReports(status));
    } catch (caught) {
      setMessage({ text: problemOf(caught), bad: true });
    }
  }, [status]);
  useEffect(() => {
    if (allowed) {
      void load();
    }
  }, [allowed, load]);
  if (!allowed) {
    return (
      <section>
        <h1>Reported problems</h1>
        <p>The queue of reported problems is for curators.</p>
      </section>
    );
  }
  const handleAnswer = (report: DatasetReport) => (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const fixedIn = formText(form, 'fixedIn').trim();
    const close = form.get('close') === 'on';
    setMessage(null);
    api
      .answerReport(report.id, {
        answer: formText(form, 'answer'),
        close,
        ...(fixedIn === '' ? {} : { fixedIn }),
      })
      .then(
        async (answered) => {
          setMessage({
            text:
              answered.status === 'closed'
                ? `Closed${answered.fixedIn === null ? '' : ` as fixed in ${answered.fixedIn}`}; the reporter is emailed.`
                : 'Answered; the reporter is emailed.',
            bad: false,
          });
          await load();
        },
        (caught: unknown) => setMessage({ text: problemOf(caught), bad: true }),
      );
  };
  return (
    <section aria-labelledby="reports-title">
      <h1 id="reports-title">Reported problems</h1>
      <div className="tabs" role="group" aria-label="Status">
        {(['open', 'answered', 'closed'] as const).map((s) => (
          <button key={s} type="button" aria-pressed={status === s} onClick={() => setStatus(s)}>
            {s}
          </button>
        ))}
      </div>
      {message !== null && (
        <p role={message.bad ? 'alert' : 'status'} className={message.bad ? 'bad' : ''}>
          {message.text}
        </p>
      )}
      {reports !== null && reports.length === 0 && <p>No {status} reports.</p>}
      {reports?.map((report) => (
        <article key={report.id} className="panel" data-testid="report">
          <h2>
            <Link to={datasetPath(report.dataset, report.version)} navigate={navigate}>
              {report.dataset}
              {report.version === null ? '' : ` ${report.version}`}
            </Link>
            {report.table !== null &&
              ` · ${report.table}${report.column === null ? '' : `.${report.column}`}`}
          </h2>
          <p>{report.text}</p>
          <p className="muted">
            {report.reporter.name}
            {report.reporter.email === undefined ? '' : ` <${report.reporter.email}>`},{' '}
            {day(report.createdAt)}
          </p>
          {report.answer !== null && (
            <p>
              Answer: {report.answer}
              {report.fixedIn !== null && ` (fixed in ${report.fixedIn})`}
            </p>
          )}
          {report.status !== 'closed' && (
            <form
              onSubmit={handleAnswer(report)}
              aria-label={`Answer the report on ${report.dataset}`}
            >
              <label>
                Answer (the reporter reads it)
                <textarea name="answer" rows={2} required minLength={3} />
              </label>
              <label>
                Fixed in version (a published one; closes the report)
                <input name="fixedIn" placeholder="e.g. 1.2" />
              </label>
              <label className="inline">
                <input type="checkbox" name="close" /> Close without a fix
              </label>
              <button type="submit">Send</button>
            </form>
          )}
        </article>
      ))}
    </section>
  );
}
