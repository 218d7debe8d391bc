/**
 * Client-side helpers: promisified unary calls with domain errors, and
 * channel options shared by every client.
 */
import * as grpc from '@grpc/grpc-js';
import { fromServiceError } from './status.js';
import { HTTP2_STREAM_WINDOW_BYTES } from './http2-settings.js';

export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 16 * 1024 * 1024,
  // Fail fast on a dead peer instead of waiting for reconnect backoff.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2000,
  // A download's blocks (~350 KiB) arrive without waiting for window updates every 64 KiB (http2-settings.ts).
  'grpc-node.flow_control_window': HTTP2_STREAM_WINDOW_BYTES,
};

/** Default per-call deadline for unary calls. */
export const DEFAULT_DEADLINE_MS = 15_000;

export function deadline(ms = DEFAULT_DEADLINE_MS): Date {
  return new Date(Date.now() + ms);
}

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * Calls a unary method as a promise. Errors become IntergridErrors whose
 * message starts with `peer` so the user learns which server answered.
 */
export function call<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  req: Req,
  opts: { peer?: string; deadlineMs?: number } = {},
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method.call(client, req, new grpc.Metadata(), { deadline: deadline(opts.deadlineMs) }, (err, res) => {
      if (err) reject(fromServiceError(err, opts.peer));
      else resolve(res as Res);
    });
  });
}
