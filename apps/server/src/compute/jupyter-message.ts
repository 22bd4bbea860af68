/**
 * A message of the Jupyter messaging protocol 5.3 as a notebook server's kernel `channels`
 * websocket takes it in JSON (jupyter_client's "messaging" document: header, parent_header,
 * metadata, content, and the channel it goes on). The one place such messages are built, for the
 * culler's kernel probe and for the tests' kernels.
 */
import { randomUUID } from 'node:crypto';

export interface JupyterMessage {
  channel: 'shell' | 'control';
  header: {
    msg_id: string;
    msg_type: string;
    username: string;
    session: string;
    date: string;
    version: '5.3';
  };
  parent_header: Record<string, never>;
  metadata: Record<string, never>;
  content: Record<string, unknown>;
  buffers: [];
}

/** A new request of `msgType` on `channel` in `session`, with a fresh `msg_id`. */
export function jupyterRequest(
  channel: JupyterMessage['channel'],
  msgType: string,
  session: string,
  content: Record<string, unknown> = {},
): JupyterMessage {
  return {
    channel,
    header: {
      msg_id: randomUUID(),
      msg_type: msgType,
      username: 'ngsci',
      session,
      date: new Date().toISOString(),
      version: '5.3',
    },
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
  };
}
