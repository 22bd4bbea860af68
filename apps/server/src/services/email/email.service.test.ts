import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_DIALECT, type TestServer } from '../../testing/test-server.js';
import { createSignedInUser } from '../../testing/users.js';

interface Received {
  from: string;
  to: string[];
  data: string;
}

/** A real SMTP server on a free port (the smtp-server package), refusing one address on purpose. */
async function startSmtp(): Promise<{
  url: string;
  received: Received[];
  close: () => Promise<void>;
}> {
  const received: Received[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      callback(
        address.address.endsWith('@refused.example') ? new Error('mailbox unavailable') : undefined,
      );
    },
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
        });
        callback();
      });
    },
  });
  smtp.listen(0, '127.0.0.1');
  await once(smtp.server, 'listening');
  const { port } = smtp.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise((done) => smtp.close(() => done())),
  };
}

let smtp: Awaited<ReturnType<typeof startSmtp>>;
let server: TestServer;

beforeAll(async () => {
  smtp = await startSmtp();
  server = await startTestServer({
    LANTERN_SMTP_URL: smtp.url,
    LANTERN_MAIL_FROM: 'Lantern <lantern@example.org>',
  });
});

afterAll(async () => {
  await server.close();
  await smtp.close();
});

async function queue(to: string, subject: string, rollBack = false) {
  const { database, services } = server.ctx;
  await database.db
    .transaction()
    .execute(async (trx) => {
      await services.email.queue(trx, {
        kind: 'test.message',
        to,
        subject,
        text: `Hello ${to}.\nThis is ${subject}.`,
      });
      if (rollBack) {
        throw new Error('the change failed');
      }
    })
    .catch((error: unknown) => {
      if (!rollBack) {
        throw error;
      }
    });
}

describe(`email outbox and SMTP delivery on ${TEST_DIALECT}`, () => {
  it('delivers queued mail over SMTP and marks it sent', async () => {
    await queue('ada@example.org', 'a first message');
    await server.ctx.mailer.flush();
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toMatchObject({
      from: 'lantern@example.org',
      to: ['ada@example.org'],
    });
    expect(smtp.received[0]?.data).toMatch(/Subject: a first message/);
    expect(smtp.received[0]?.data).toMatch(/This is a first message\./);
  });

  it('sends nothing for a change that rolled back', async () => {
    await queue('ghost@example.org', 'never sent', true);
    await server.ctx.mailer.flush();
    expect(smtp.received.map((r) => r.to[0])).not.toContain('ghost@example.org');
  });

  it('keeps a refused message with its error and retries it later, with backoff', async () => {
    await queue('someone@refused.example', 'bounced');
    await server.ctx.mailer.flush();
    const [row] = await server.ctx.services.email.list({ limit: 1 });
    expect(row).toMatchObject({
      to_address: 'someone@refused.example',
      sent_at: null,
      attempts: 1,
    });
    expect(row?.last_error).toMatch(/mailbox unavailable/);
    expect(row?.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 30_000);
  });

  it('shows the outbox to admins only', async () => {
    const admin = await createSignedInUser(server, {
      email: 'root@example.org',
      roles: ['admin'],
      password: 'pale moon over the eastern ridge',
    });
    const researcher = await createSignedInUser(server, {
      email: 'r@example.org',
      roles: ['researcher'],
      password: 'pale moon over the eastern ridge',
    });
    const res = await fetch(`${server.url}/api/v1/admin/outbox?limit=10`, {
      headers: { cookie: admin.cookie },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      delivery: string;
      messages: { subject: string; sentAt: string | null }[];
    };
    expect(body.delivery).toBe('smtp');
    expect(body.messages.map((m) => m.subject)).toEqual(['bounced', 'a first message']);
    expect(body.messages[1]?.sentAt).not.toBeNull();
    expect(
      (await fetch(`${server.url}/api/v1/admin/outbox`, { headers: { cookie: researcher.cookie } }))
        .status,
    ).toBe(403);
  });
});
