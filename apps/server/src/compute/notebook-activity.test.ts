import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotebookActivityError, readNotebookActivity } from './notebook-activity.js';

// The culler's questions to a notebook reached by URL (as a Kubernetes Pod is), against an HTTP
// server answering the two routes of Jupyter's REST API it asks, as jupyter_server 1.23 shapes
// them. The socket path is exercised against a real Jupyter by http/instance-culling.test.ts.

const TOKEN = 'jupyter-token';
const BASE = '/instances/ins_0123456789abcdef/';
let server: Server;
let url: string;
/** What the server answers next, by path; and what it was asked. */
let answers: Record<string, { status: number; body: string }> = {};
const asked: { path: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const answer = answers[(req.url ?? '').split('?')[0] ?? ''] ?? { status: 404, body: '{}' };
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('asking a notebook how it has been used', () => {
  it("reads api/status and api/kernels without counting as activity, with Jupyter's token", async () => {
    answers = {
      [`${BASE}api/status`]: {
        status: 200,
        body: JSON.stringify({
          started: '2030-03-01T11:00:00.000000Z',
          last_activity: '2030-03-01T12:30:15.123456Z',
          kernels: 2,
          connections: 1,
        }),
      },
      [`${BASE}api/kernels`]: {
        status: 200,
        body: JSON.stringify([
          {
            id: 'k1',
            name: 'python3',
            last_activity: '2030-03-01T12:00:00.000000Z',
            execution_state: 'busy',
            connections: 1,
          },
          { id: 'k2', name: 'python3', last_activity: null, execution_state: 'idle' },
        ]),
      },
    };
    asked.length = 0;
    const activity = await readNotebookActivity({ url }, BASE, TOKEN);
    expect(activity).toEqual({
      lastActivity: new Date('2030-03-01T12:30:15.123Z'),
      kernels: [
        { id: 'k1', executionState: 'busy', lastActivity: new Date('2030-03-01T12:00:00.000Z') },
        { id: 'k2', executionState: 'idle', lastActivity: null },
      ],
    });
    expect(asked).toEqual([
      { path: `${BASE}api/status`, authorization: `token ${TOKEN}` },
      { path: `${BASE}api/kernels?no_track_activity=1`, authorization: `token ${TOKEN}` },
    ]);
  });

  it('says plainly when the answer is a refusal, not JSON, or not the shape of Jupyter’s', async () => {
    const status = { status: 200, body: JSON.stringify({ last_activity: null }) };
    for (const [kernels, message] of [
      [{ status: 403, body: '{}' }, /answered .*api\/kernels.* with 403/u],
      [{ status: 200, body: '<html>' }, /api\/kernels.* is not JSON/u],
      [{ status: 200, body: JSON.stringify({ kernels: [] }) }, /api\/kernels.* is not Jupyter's/u],
    ] as const) {
      answers = { [`${BASE}api/status`]: status, [`${BASE}api/kernels`]: kernels };
      const reading = readNotebookActivity({ url }, BASE, TOKEN);
      await expect(reading).rejects.toThrow(NotebookActivityError);
      await expect(reading).rejects.toThrow(message);
    }
  });

  it('says so when nothing listens', async () => {
    await expect(
      readNotebookActivity({ url: 'http://127.0.0.1:1' }, BASE, TOKEN, 2_000),
    ).rejects.toThrow(/the notebook did not answer .*api\/status/u);
  });
});
