import { ApiError, type HealthReport } from '@lantern/sdk';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';

type State =
  | { kind: 'loading' }
  | { kind: 'loaded'; report: HealthReport; at: Date }
  | { kind: 'error'; message: string };

const LABELS: Record<keyof HealthReport['checks'], string> = {
  database: 'Database',
  objectStore: 'Object store',
  compute: 'Compute backend',
  audit: 'Audit log',
};

/** The platform's health: each component ok, or why not. Refreshes every 10 s. */
export function StatusPage() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const load = useCallback(async () => {
    try {
      setState({ kind: 'loaded', report: await api.getHealth(), at: new Date() });
    } catch (error) {
      setState({
        kind: 'error',
        message: error instanceof ApiError ? error.problem.detail : 'the server cannot be reached',
      });
    }
  }, []);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), 10_000);
    return () => {
      window.clearInterval(timer);
    };
  }, [load]);

  return (
    <section aria-labelledby="status-title">
      <h1 id="status-title">Status</h1>
      {state.kind === 'loading' && <p role="status">Checking…</p>}
      {state.kind === 'error' && (
        <p role="alert" className="bad">
          Status unavailable: {state.message}
        </p>
      )}
      {state.kind === 'loaded' && (
        <>
          <p>
            <span className={`badge ${state.report.status}`} data-testid="overall-status">
              {state.report.status}
            </span>{' '}
            Lantern {state.report.version}, up {state.report.uptimeSeconds} s, checked{' '}
            {state.at.toLocaleTimeString()}.{' '}
            <button type="button" onClick={() => void load()}>
              Check again
            </button>
          </p>
          <table className="checks">
            <thead>
              <tr>
                <th scope="col">Component</th>
                <th scope="col">State</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {(Object.keys(LABELS) as (keyof HealthReport['checks'])[]).map((name) => {
                const check = state.report.checks[name];
                return (
                  <tr key={name} data-testid={`check-${name}`}>
                    <th scope="row">{LABELS[name]}</th>
                    <td className={check.ok ? 'good' : 'bad'}>{check.ok ? 'ok' : 'not ok'}</td>
                    <td>{check.detail}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
