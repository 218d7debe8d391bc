/**
 * HTTP/2 flow-control windows and frame size on every connection (issue 13).
 *
 * HTTP/2's defaults — a 64 KiB window per stream and per connection, 16 KiB
 * frames — make a 1 MiB share chunk cross as 64 frames, each its own Buffer
 * on the receiver, with the sender stopping every 64 KiB for a window
 * update. Measured on a 10-server loopback grid, 64 MiB: a put 3.6 → 2.8 s
 * and the client's CPU 2.5 → 1.9 s; a get 2.2 → 1.9 s.
 *
 * The windows are also the memory bound: a peer can make a server buffer at
 * most HTTP2_STREAM_WINDOW_BYTES on one stream and HTTP2_CONNECTION_WINDOW_BYTES
 * across all the streams of one connection before it reads them
 * (docs/security.md, "Storage").
 *
 * Clients set the windows through grpc-js's `grpc-node.flow_control_window`
 * (client.ts CHANNEL_OPTIONS). grpc-js has no server option for either, so
 * tuneHttp2Sessions reaches the server's Node http2 servers through a field
 * grpc-js does not document; test/unit/rpc/http2-settings.test.ts reads the
 * settings a connecting peer receives and fails if a grpc-js upgrade drops it.
 */
import type * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** Per-stream receive window (client and server). */
export const HTTP2_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** Per-connection receive window of a server (across its streams). */
export const HTTP2_CONNECTION_WINDOW_BYTES = 8 * 1024 * 1024;
/** Largest frame a server accepts (the sender may send frames up to this). */
export const HTTP2_MAX_FRAME_BYTES = 1024 * 1024 - 1;

/** Applies the windows and frame size to every session a bound grpc-js server accepts from now on. */
export function tuneHttp2Sessions(server: grpc.Server): void {
  const servers = (server as unknown as { http2Servers?: Map<http2.Http2SecureServer | http2.Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return;
  for (const h2 of servers.keys()) {
    h2.updateSettings({ initialWindowSize: HTTP2_STREAM_WINDOW_BYTES, maxFrameSize: HTTP2_MAX_FRAME_BYTES });
    h2.on('session', (session: http2.ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(HTTP2_CONNECTION_WINDOW_BYTES);
      } catch {
        // a session already closing: nothing to tune
      }
    });
  }
}
