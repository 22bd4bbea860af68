import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './logging.js';
import { runWithRequestContext } from './request-context.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ logLevel: 'info' }, stream) };
}

describe('logs', () => {
  it('never carry credentials', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        req: {
          headers: { authorization: 'Bearer secret-token', cookie: 'session=abc', accept: 'json' },
        },
        user: { password: 'hunter2', token: 'tok' },
        databaseUrl: 'postgresql://u:pw@db/x',
      },
      'request',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['secret-token', 'session=abc', 'hunter2', '"tok"', 'u:pw']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('"accept":"json"');
  });

  it('carry the user and project of the current request', () => {
    const { lines, logger } = capture();
    runWithRequestContext(
      {
        requestId: 'r1',
        clientIp: '127.0.0.1',
        principal: { kind: 'user', userId: 'u_7', roles: [] },
        projectId: 'p_3',
        audited: false,
        auditSettled: false,
        authenticatedBy: 'session',
        tokenId: null,
        denied: false,
      },
      () => {
        logger.info('inside');
      },
    );
    logger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', userId: 'u_7', projectId: 'p_3' });
    expect(lines[1]).not.toHaveProperty('userId');
  });

  it('hide the password of a database URL in messages', () => {
    expect(redactUrl('postgresql://lantern:s3cret@db:5432/lantern')).toBe(
      'postgresql://lantern:***@db:5432/lantern',
    );
    expect(redactUrl('not a url')).toBe('[unparseable url]');
  });
});
