/**
 * Every server bound through libs/rpc bindServer announces the larger HTTP/2
 * windows and frame size (libs/rpc/http2-settings.ts), read by a raw Node
 * http2 peer from the SETTINGS it receives; and every client channel asks for
 * the larger window. Fails if a grpc-js upgrade drops the hook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { generateKeyPair } from '../../../libs/crypto/index.js';
import { bindServer, stopServer, CHANNEL_OPTIONS, HTTP2_MAX_FRAME_BYTES, HTTP2_STREAM_WINDOW_BYTES, HTTP2_CONNECTION_WINDOW_BYTES } from '../../../libs/rpc/index.js';

describe('HTTP/2 settings', () => {
  let server: grpc.Server;
  let address: string;

  beforeAll(async () => {
    server = new grpc.Server();
    ({ address } = await bindServer(server, '127.0.0.1:0', generateKeyPair()));
  });
  afterAll(() => stopServer(server, 100));

  it('a connecting peer receives the larger stream window and frame size, and the connection window', async () => {
    const session = http2.connect(`https://${address}`, { rejectUnauthorized: false });
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      expect(settings.maxFrameSize).toBe(HTTP2_MAX_FRAME_BYTES);
      expect(settings.initialWindowSize).toBe(HTTP2_STREAM_WINDOW_BYTES);
      // The connection window grows by a WINDOW_UPDATE after the settings.
      for (let i = 0; i < 50 && (session.state.remoteWindowSize ?? 0) < HTTP2_CONNECTION_WINDOW_BYTES; i++) await new Promise((r) => setTimeout(r, 10));
      expect(session.state.remoteWindowSize).toBe(HTTP2_CONNECTION_WINDOW_BYTES);
    } finally {
      session.destroy();
    }
  });

  it('every client channel asks for the larger window', () => {
    expect(CHANNEL_OPTIONS['grpc-node.flow_control_window']).toBe(HTTP2_STREAM_WINDOW_BYTES);
  });
});
