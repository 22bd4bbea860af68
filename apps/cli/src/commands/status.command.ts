import { ApiError, createLanternClient, type HealthReport } from '@lantern/sdk';

/** Prints the health of a running server, one line per component. Exit 0 when all are ok. */
export async function status(options: { server: string; json?: boolean }): Promise<number> {
  const client = createLanternClient({ baseUrl: options.server.replace(/\/+$/, '') });
  let report: HealthReport;
  try {
    report = await client.getHealth();
  } catch (error) {
    if (error instanceof ApiError) {
      console.error(`lantern: ${options.server} answered ${error.status}: ${error.problem.detail}`);
    } else {
      const reason =
        error instanceof Error && error.cause instanceof Error
          ? error.cause.message
          : String(error);
      console.error(`lantern: cannot reach ${options.server} (${reason}); is it running?`);
    }
    return 2;
  }
  if (options.json === true) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`Lantern ${report.version} at ${options.server}: ${report.status}`);
    for (const [name, check] of Object.entries(report.checks)) {
      console.log(`  ${check.ok ? 'ok  ' : 'FAIL'} ${name.padEnd(12)} ${check.detail}`);
    }
  }
  return report.status === 'ok' ? 0 : 1;
}
