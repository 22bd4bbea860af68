import { destination as pinoDestination, pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';
import { currentRequestContext } from './request-context.js';

/** Paths never written to logs (secrets never reach logs). */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.databaseUrl',
  'databaseUrl',
  '*.smtpUrl',
  'smtpUrl',
];

/** The process logger: JSON lines, with the user and project of the current request mixed in. */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  destination: DestinationStream = pinoDestination(1),
): Logger {
  return pino(
    {
      level: config.logLevel,
      redact: { paths: REDACT, censor: '[redacted]' },
      mixin() {
        const ctx = currentRequestContext();
        if (ctx === undefined) {
          return {};
        }
        const user = ctx.principal.kind === 'user' ? ctx.principal.userId : undefined;
        return {
          ...(user === undefined ? {} : { userId: user }),
          ...(ctx.projectId === null ? {} : { projectId: ctx.projectId }),
        };
      },
    },
    destination,
  );
}

/** Hides the password of a database URL, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') {
      parsed.password = '***';
    }
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
