import { ApiError, type HealthReport } from '@lantern/sdk';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, resolveTarget } from '../connection.js';

/** Prints the health of a running server, one line per component. Exit 0 when all are ok. */
export async function status(options: { server?: string; json?: boolean }): Promise<number> {
  const target = await resolveTarget(options.server);
  let report: HealthReport;
  try {
    report = await clientFor(target).getHealth();
  } catch (error) {
    const failure = describeFailure(error, target);
    // Anything but a refused token means the server could not say how it is.
    throw error instanceof ApiError && error.status === 401
      ? failure
      : new CliError(2, failure.message);
  }
  if (options.json === true) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`Lantern ${report.version} at ${target.server}: ${report.status}`);
    for (const [name, check] of Object.entries(report.checks)) {
      console.log(`  ${check.ok ? 'ok  ' : 'FAIL'} ${name.padEnd(12)} ${check.detail}`);
    }
  }
  return report.status === 'ok' ? 0 : 1;
}
