/**
 * Starting and stopping gRPC servers, and adapting async handlers to grpc-js's
 * callback style with errors mapped through status.ts.
 */
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { DeadlineError } from '../errors/index.js';
import { toStatus } from './status.js';
import { beginDrain, setServing } from './operations.js';
import { tuneHttp2Sessions } from './http2-settings.js';
import { selfSignedTlsCertificate, tlsServerCredentials } from '../tls/index.js';
import type { KeyPair } from '../crypto/index.js';

export interface StartedServer {
  server: grpc.Server;
  /** host:port actually bound (port 0 resolved). */
  address: string;
  port: number;
}

/** Server options shared by every service: generous message size for data chunks. */
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 16 * 1024 * 1024,
};

/**
 * Binds `server` to `address` (e.g. "127.0.0.1:0") with TLS: the certificate
 * is the self-signed one of the service's identity key (libs/tls), which is
 * the key its peers pin. There is no plaintext listener: a plaintext call
 * fails its connection. Resolves the bound port; a server built by
 * `operableServer` reports SERVING from here on.
 */
export async function bindServer(server: grpc.Server, address: string, keyPair: KeyPair): Promise<StartedServer> {
  const credentials = tlsServerCredentials(selfSignedTlsCertificate(keyPair));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  const host = address.slice(0, address.lastIndexOf(':'));
  tuneHttp2Sessions(server);
  setServing(server, true);
  return { server, address: `${host}:${port}`, port };
}

let defaultDrainMs = 5000;

/**
 * The bound `stopServer` waits for in-flight calls when not given one: 5 s by
 * default (in-process tests), `intergrid serve` sets 30 s.
 */
export function setDefaultDrainMs(ms: number): void {
  defaultDrainMs = ms;
}

/**
 * Drains, then shuts down: health turns NOT_SERVING and new calls are refused
 * (UNAVAILABLE 'draining') while in-flight calls and streams finish, up to
 * `graceMs`; then the listeners close (tryShutdown) and whatever is still
 * running is cancelled (forceShutdown) when the bound is reached.
 */
export async function stopServer(server: grpc.Server, graceMs = defaultDrainMs): Promise<void> {
  const deadline = Date.now() + graceMs;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, graceMs);
    timer.unref();
    void beginDrain(server).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, Math.max(0, deadline - Date.now()));
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

type Logger = (err: unknown, method: string) => void;

/** Wraps an async unary handler: resolves → callback(null, value), throws → mapped status. */
export function unary<Req, Res>(
  method: string,
  fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
  onInternal?: Logger,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call).then(
      (res) => callback(null, res),
      (err) => callback(toStatus(err, (e) => onInternal?.(e, method))),
    );
  };
}

/** Wraps an async server-streaming handler: it writes to `call`; throws → status. */
export function serverStream<Req, Res>(
  method: string,
  fn: (call: grpc.ServerWritableStream<Req, Res>) => Promise<void>,
  onInternal?: Logger,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    fn(call).then(
      () => call.end(),
      // grpc-js turns an 'error' event into the call's status; destroy() would drop the status (the client waits for its deadline).
      (err) => call.emit('error', Object.assign(new Error(), toStatus(err, (e) => onInternal?.(e, method)))),
    );
  };
}

/** Wraps an async client-streaming handler that consumes `call` (an async iterable). */
export function clientStream<Req, Res>(
  method: string,
  fn: (call: grpc.ServerReadableStream<Req, Res>) => Promise<Res>,
  onInternal?: Logger,
): grpc.handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    fn(call).then(
      (res) => callback(null, res),
      (err) => callback(toStatus(err, (e) => onInternal?.(e, method))),
    );
  };
}

/**
 * Writes one message of a server stream with backpressure: resolves at once
 * while grpc-js's buffer has room, otherwise on 'drain' — or when the call is
 * cancelled or closed, so a vanished peer never leaves the writer waiting.
 *
 * With `stallMs` > 0, a peer that stays connected but does not read (HTTP/2
 * flow control then holds every later write) is not waited on forever: after
 * `stallMs` without 'drain' the promise rejects with a DeadlineError saying
 * why, and the stream is reset shortly after (see endStalledStream), so the
 * handler's slot, file handles and buffers are freed.
 */
export function writeMessage<Res>(call: grpc.ServerWritableStream<unknown, Res>, message: Res, stallMs = 0): Promise<void> {
  if (call.cancelled || call.write(message)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
    };
    const done = (): void => {
      cleanup();
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
    if (stallMs > 0) {
      timer = setTimeout(() => {
        cleanup();
        endStalledStream(call);
        reject(new DeadlineError(`the stream was ended: the receiver read nothing for ${formatSeconds(stallMs)} (it must keep reading what it asked for)`));
      }, stallMs);
      timer.unref();
    }
  });
}

/** Grace for a stalled peer to pick up the status before its stream is reset. */
const STALL_RESET_GRACE_MS = 1000;

/**
 * The status of a call whose peer does not read is queued behind the data
 * flow control holds (grpc-js sends trailers only after every message), so it
 * may never arrive: once the handler's error status had a moment to go out,
 * the HTTP/2 stream itself is reset (RST_STREAM CANCEL), which frees what
 * grpc-js and node hold for it. grpc-js does not expose the stream, hence
 * the guarded reach into its call object.
 */
function endStalledStream(call: grpc.ServerWritableStream<unknown, unknown>): void {
  const t = setTimeout(() => {
    if (call.cancelled) return;
    const stream = http2StreamOf(call);
    if (stream && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }, STALL_RESET_GRACE_MS);
  t.unref();
}

interface Closable {
  closed: boolean;
  close(code: number): void;
}

/** The HTTP/2 stream under a grpc-js server call: `call.call`, then through interceptor layers (`nextCall`), to the base call's `stream`. */
function http2StreamOf(call: grpc.ServerWritableStream<unknown, unknown>): Closable | undefined {
  let layer = (call as unknown as { call?: unknown }).call as { stream?: unknown; nextCall?: unknown } | undefined;
  for (let depth = 0; layer && depth < 16; depth++) {
    const s = layer.stream as Partial<Closable> | undefined;
    if (s && typeof s.close === 'function') return s as Closable;
    layer = layer.nextCall as typeof layer;
  }
  return undefined;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
