/**
 * The client half of request signing (STYLE.md §5): one grpc-js interceptor
 * that signs every call, so no call site handles credentials.
 *
 * The signature covers the SHA-256 of the first request message's serialized
 * bytes (request-signature.ts), and headers go out before any message. So
 * the interceptor holds the call's start until the first message is sent
 * (or the request stream is half-closed empty, signed with NO_MESSAGE_HASH),
 * then signs and starts. Unary and server-streaming calls send their message
 * immediately after start, so they are not delayed; client-streaming and bidi
 * calls open on their first write.
 *
 * While the start is held, the call below has no listener yet, so a deadline
 * or cancel there would be lost; the interceptor reports those statuses to
 * the caller itself.
 */
import * as grpc from '@grpc/grpc-js';
import { assertBytes, InvalidArgumentError } from '../errors/index.js';
import { sha256, PUBLIC_KEY_BYTES } from '../crypto/index.js';
import { assertKeyPair } from './certificate.js';
import { attachRequestCredentials, NO_MESSAGE_HASH } from './request-signature.js';
import type { Identity } from './types.js';

export interface AuthInterceptorOptions {
  /**
   * The Ed25519 key of the server every call is signed for (request-signature.ts
   * "target"): the same key the channel's TLS pin is derived from.
   */
  target: Uint8Array;
  /** Clock for request timestamps (Unix ms); default Date.now. */
  now?: () => number;
}

function checkIdentity(identity: Identity): Identity {
  assertKeyPair('identity.keyPair', identity?.keyPair);
  if (!Array.isArray(identity.certificates)) throw new InvalidArgumentError('identity.certificates must be an array');
  identity.certificates.forEach((c, i) => assertBytes(`identity.certificates[${i}].encoded`, c?.encoded));
  assertBytes('identity public key', identity.keyPair.publicKey, PUBLIC_KEY_BYTES);
  return identity;
}

/**
 * A client interceptor that signs every call as `identity`, for the server
 * `opts.target`. Pass a function to present renewed certificates without
 * rebuilding clients (it is read at the start of each call). Services build
 * clients through `securedClient` (secured-client.ts), which pairs this with
 * the pinned TLS channel of the same key.
 * @throws InvalidArgumentError when a fixed identity is malformed (bad key pair or certificate), or the target is not a 32-byte key.
 */
export function authInterceptor(identity: Identity | (() => Identity), opts: AuthInterceptorOptions): grpc.Interceptor {
  const current = typeof identity === 'function' ? () => checkIdentity(identity()) : ((fixed) => () => fixed)(checkIdentity(identity));
  assertBytes('target server key', opts?.target, PUBLIC_KEY_BYTES);
  const target = Uint8Array.from(opts.target);
  const now = opts.now ?? Date.now;
  return (options, nextCall) => {
    const definition = options.method_definition;
    let held: { metadata: grpc.Metadata; listener: grpc.InterceptingListener; next: (m: grpc.Metadata, l: grpc.InterceptingListener) => void } | null = null;
    let started = false;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;

    /** Ends a call that never started, reporting `code` to the caller (the call below cannot). */
    const finish = (code: grpc.status, details: string): void => {
      if (finished || started || !held) return;
      finished = true;
      clearTimeout(timer);
      held.listener.onReceiveStatus({ code, details, metadata: new grpc.Metadata() });
      held = null;
    };

    const begin = (messageHash: Uint8Array): void => {
      if (started || finished || !held) return;
      const { metadata, listener, next } = held;
      started = true;
      held = null;
      clearTimeout(timer);
      let signError: unknown;
      try {
        attachRequestCredentials(metadata, current(), target, definition.path, messageHash, now());
      } catch (err) {
        signError = err;
      }
      next(metadata, listener);
      if (signError !== undefined) {
        call.cancelWithStatus(grpc.status.INTERNAL, `cannot sign request to ${definition.path}: ${(signError as Error).message}`);
      }
    };

    const requester: grpc.Requester = {
      start(metadata, listener, next) {
        held = { metadata, listener, next };
        const ms = deadlineMs(options.deadline);
        if (ms !== undefined) {
          // The call below's deadline timer would fire with no listener attached.
          timer = setTimeout(() => finish(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded before the first request message was sent'), ms);
          timer.unref();
        }
      },
      sendMessage(message, next) {
        if (!started && !finished) {
          let hash: Uint8Array;
          try {
            hash = sha256(definition.requestSerialize(message));
          } catch {
            // The same serializer runs again below and fails the call with
            // grpc-js's own serialization status; sign something harmless.
            hash = NO_MESSAGE_HASH;
          }
          begin(hash);
        }
        if (!finished) next(message);
      },
      halfClose(next) {
        begin(NO_MESSAGE_HASH);
        if (!finished) next();
      },
      cancel(next) {
        finish(grpc.status.CANCELLED, 'Cancelled on client');
        next();
      },
    };
    const call = new grpc.InterceptingCall(nextCall(options), requester);
    return call;
  };
}

/** Milliseconds until a call deadline, or undefined for none (or one beyond setTimeout's range). */
function deadlineMs(deadline: grpc.Deadline | undefined): number | undefined {
  if (deadline === undefined) return undefined;
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return undefined;
  const ms = Math.max(0, at - Date.now());
  return ms > 0x7fffffff ? undefined : ms;
}
