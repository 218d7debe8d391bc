/**
 * The one server-side auth check (STYLE.md §5): `secureService` wraps every
 * method of a service so no handler runs before its caller is authenticated
 * and allowed; handlers read the caller with `principalOf(call)`.
 *
 * Per call, in order (docs/auth.md has the statuses table):
 *  1. credentials present and well formed          UNAUTHENTICATED
 *  2. the request names this server as its target, and its signature over
 *     (path, timestamp, nonce, SHA-256 of the first message's received
 *     bytes, caller key, THIS server's key) verifies UNAUTHENTICATED
 *  3. |server clock - timestamp| <= maxSkewMs        UNAUTHENTICATED
 *  4. a presented certificate verifies: issuer trusted for its role, issuer
 *     signature, validity window, subject = caller   UNAUTHENTICATED
 *  5. caller not revoked                             PERMISSION_DENIED
 *  6. the method is in the policy and lists a role
 *     the caller holds                               PERMISSION_DENIED
 *  7. nonce not seen from this caller in the replay
 *     window, then remembered                        UNAUTHENTICATED
 *     (or RESOURCE_EXHAUSTED when this caller already has its bound of live
 *     nonces; other callers are not affected)
 * The nonce is looked up and remembered only once steps 1–6 passed, so only
 * a certified, unrevoked caller allowed this method can put anything in the
 * replay cache, and only into its own part of it (nonce-cache.ts).
 *
 * The message hash must be over the bytes that arrived, not a re-encoding of
 * the decoded object (protobuf decoding drops unknown fields, so a
 * re-encoding could differ). grpc-js deserializes before the handler runs and
 * the deserializer is shared by all calls of a method, so the wrapped
 * deserializer remembers each decoded message's raw bytes in a WeakMap keyed
 * by the decoded object; the check looks up its call's first message there.
 */
import * as grpc from '@grpc/grpc-js';
import { assertBytes, assertInt, InternalError, InvalidArgumentError } from '../errors/index.js';
import { sha256, shortKey, toHex, PUBLIC_KEY_BYTES } from '../crypto/index.js';
import { toStatus } from '../rpc/index.js';
import { AccessDeniedError, AuthRejectedError } from './auth-errors.js';
import { decodeCertificate, verifyCertificate } from './certificate.js';
import { DEFAULT_MAX_SKEW_MS, NonceCache } from './nonce-cache.js';
import { NO_MESSAGE_HASH, readRequestCredentials, verifyRequestSignature, type RequestCredentials } from './request-signature.js';
import type { AuthPolicy, Certificate, Principal, Role } from './types.js';

/** Raw received bytes of each decoded request message (see the file comment). */
const rawMessages = new WeakMap<object, Uint8Array>();
/** The authenticated caller of each wrapped call object. */
const principals = new WeakMap<object, Principal>();
/** The authenticated caller by the call's metadata object (what server interceptors see). */
const principalsByMetadata = new WeakMap<grpc.Metadata, Principal>();

/** Marks "the request stream ended before its first message". */
const NO_MESSAGE = Symbol('no message');

type Handler = (...args: never[]) => void;

/**
 * Wraps a service so every call is authenticated and authorised by `policy`
 * before its handler runs. Register the result with
 * `server.addService(s.definition, s.implementation)`.
 *
 * Streaming calls: for client-streaming and bidi methods the check runs when
 * the first message (or the end of an empty stream) arrives, before the
 * handler is invoked, so the handler never sees data from a caller that
 * failed the check; on failure the call ends with the status.
 *
 * @example
 * const s = secureService(storageProto().intergrid.storage.Storage.service, handlers, {
 *   methods: { ListShares: ['client', 'contact-point'] },
 *   issuersFor: () => [gridManagerKey],
 * });
 * @throws InvalidArgumentError when the policy names a method the service does not have, or for a bad maxSkewMs.
 */
export function secureService(
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
  policy: AuthPolicy,
): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const checker = new RequestChecker(policy);
  const known = new Set<string>();
  for (const [name, attrs] of Object.entries(definition)) {
    known.add(name);
    known.add(shortName(attrs.path));
  }
  for (const m of Object.keys(policy.methods)) {
    // A typo in a policy would otherwise silently deny a method forever.
    if (!known.has(m)) {
      throw new InvalidArgumentError(`auth policy lists method '${m}', which the service does not have (methods: ${[...known].join(', ')})`);
    }
  }

  const wrappedDefinition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const wrappedImplementation: grpc.UntypedServiceImplementation = {};
  for (const [name, attrs] of Object.entries(definition)) {
    wrappedDefinition[name] = { ...attrs, requestDeserialize: rememberRaw(attrs.requestDeserialize) };
    const fn = implementation[name] ?? (typeof attrs.originalName === 'string' ? implementation[attrs.originalName] : undefined);
    // An unimplemented method stays unimplemented (grpc-js answers UNIMPLEMENTED; nothing runs).
    if (typeof fn !== 'function') continue;
    const check = (call: { metadata: grpc.Metadata }, first: unknown): void => {
      const principal = checker.check(attrs.path, call.metadata, first);
      principals.set(call, principal);
      principalsByMetadata.set(call.metadata, principal);
    };
    // Bound like grpc-js binds handlers, so class-based implementations keep `this`.
    const bound = (fn as Handler).bind(implementation) as Handler;
    wrappedImplementation[name] = wrapHandler(attrs, bound, check, (err) => checker.status(err, attrs.path));
  }
  return { definition: wrappedDefinition as grpc.ServiceDefinition, implementation: wrappedImplementation };
}

/**
 * The authenticated caller of a call handled through `secureService`.
 * @throws InternalError when `call` did not pass through a secured service
 *   (a wiring bug: the handler was registered without `secureService`).
 */
export function principalOf(call: object): Principal {
  const p = principals.get(call);
  if (!p) throw new InternalError('no authenticated principal for this call: the service was not wrapped with secureService');
  return p;
}

/**
 * The short public key of the caller whose call carried `metadata`, once the
 * auth check passed (undefined before, or when it failed): for request logs.
 */
export function callerKeyOf(metadata: grpc.Metadata): string | undefined {
  const p = principalsByMetadata.get(metadata);
  return p ? shortKey(p.publicKey) : undefined;
}

function shortName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function rememberRaw<T>(deserialize: grpc.deserialize<T>): grpc.deserialize<T> {
  return (bytes: Buffer): T => {
    const message = deserialize(bytes);
    if (typeof message === 'object' && message !== null) rawMessages.set(message, bytes);
    return message;
  };
}

function messageHash(first: unknown): Uint8Array {
  if (first === NO_MESSAGE) return NO_MESSAGE_HASH;
  const raw = typeof first === 'object' && first !== null ? rawMessages.get(first) : undefined;
  if (!raw) throw new InternalError('request message was not decoded by the secureService deserializer');
  return sha256(raw);
}

type StatusError = Error & grpc.StatusObject;

function statusError(status: grpc.StatusObject): StatusError {
  return Object.assign(new Error(status.details), status);
}

/**
 * Adapts one handler by call type: run `check` on the first message, then
 * the original handler; on failure end the call with `toStatusObject(err)`.
 */
function wrapHandler(
  attrs: grpc.MethodDefinition<unknown, unknown>,
  fn: Handler,
  check: (call: { metadata: grpc.Metadata }, first: unknown) => void,
  toStatusObject: (err: unknown) => grpc.StatusObject,
): grpc.UntypedHandleCall {
  const original = fn as unknown as (...args: unknown[]) => void;
  if (!attrs.requestStream) {
    // Unary and server-streaming: grpc-js has already read the one request message.
    if (!attrs.responseStream) {
      return ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        try {
          check(call, call.request);
        } catch (err) {
          callback(toStatusObject(err));
          return;
        }
        original(call, callback);
      }) as grpc.handleUnaryCall<unknown, unknown>;
    }
    return ((call: grpc.ServerWritableStream<unknown, unknown>) => {
      try {
        check(call, call.request);
      } catch (err) {
        // grpc-js turns an 'error' on the stream into the call's status.
        call.emit('error', statusError(toStatusObject(err)));
        return;
      }
      original(call);
    }) as grpc.handleServerStreamingCall<unknown, unknown>;
  }
  if (!attrs.responseStream) {
    return ((call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      onFirstMessage(call, (first) => {
        try {
          check(call, first);
        } catch (err) {
          callback(toStatusObject(err));
          return;
        }
        // Called from a stream event, outside grpc-js's own try/catch around handlers.
        try {
          original(call, callback);
        } catch (err) {
          callback(toStatusObject(err));
        }
      });
    }) as grpc.handleClientStreamingCall<unknown, unknown>;
  }
  return ((call: grpc.ServerDuplexStream<unknown, unknown>) => {
    onFirstMessage(call, (first) => {
      try {
        check(call, first);
      } catch (err) {
        call.emit('error', statusError(toStatusObject(err)));
        return;
      }
      try {
        original(call);
      } catch (err) {
        call.emit('error', statusError(toStatusObject(err)));
      }
    });
  }) as grpc.handleBidiStreamingCall<unknown, unknown>;
}

/**
 * Waits for the first message of a request stream (or its end), then calls
 * `then` with it (or NO_MESSAGE) after putting the message back at the front
 * of the stream, so the handler reads the stream from its first message as
 * if nothing had happened. Uses paused mode ('readable' + read()) so nothing
 * flows to anyone before the check; once the listener is removed, a handler's
 * 'data' listener or async iterator resumes the stream normally.
 */
function onFirstMessage(stream: NodeJS.ReadableStream & { readableLength: number; unshift(chunk: unknown): void }, then: (first: unknown) => void): void {
  const onReadable = (): void => {
    if (stream.readableLength > 0) {
      const first: unknown = stream.read();
      stream.removeListener('readable', onReadable);
      stream.unshift(first);
      then(first);
    } else {
      // 'readable' with nothing buffered means the stream ended: the caller
      // half-closed before sending a message. Do not read(): that would
      // consume the 'end' the handler still needs to see.
      stream.removeListener('readable', onReadable);
      then(NO_MESSAGE);
    }
  };
  stream.on('readable', onReadable);
  // A cancelled call never delivers a message: drop the listener with it.
  stream.once('close', () => stream.removeListener('readable', onReadable));
}

/** Holds one service's policy and replay cache, and runs the per-call check. */
class RequestChecker {
  private readonly maxSkewMs: number;
  private readonly nonces: NonceCache;
  private readonly serverKey: Uint8Array;
  private readonly now: () => number;

  constructor(private readonly policy: AuthPolicy) {
    this.maxSkewMs = policy.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    assertInt('policy.maxSkewMs', this.maxSkewMs, 1);
    assertBytes('policy.serverKey', policy.serverKey, PUBLIC_KEY_BYTES);
    this.serverKey = Uint8Array.from(policy.serverKey);
    this.nonces = new NonceCache(2 * this.maxSkewMs, policy.maxNoncesPerCaller, policy.maxCallers);
    this.now = policy.now ? () => policy.now!() : Date.now;
  }

  /** The status for a failed check; unexpected errors (from policy callbacks) are reported and become INTERNAL. */
  status(err: unknown, path: string): grpc.StatusObject {
    return toStatus(err, (e) => this.policy.onInternalError?.(e, path));
  }

  /** Runs steps 1–7 of the file comment; returns the caller or throws the rejection. */
  check(path: string, metadata: grpc.Metadata, first: unknown): Principal {
    const creds = readRequestCredentials(metadata);
    verifyRequestSignature(creds, this.serverKey, path, messageHash(first));
    const now = this.now();
    this.checkClock(creds, now);
    const method = shortName(path);
    const allowed = this.policy.methods[method];
    const { chosen, verified } = this.pickCertificate(creds, allowed ?? [], now);
    if (this.policy.isRevoked?.(creds.publicKey)) {
      throw new AccessDeniedError('revoked', `caller ${shortKey(creds.publicKey)} has been revoked`);
    }
    if (allowed === undefined) {
      throw new AccessDeniedError('method-not-allowed', `method ${method} is not open to any role`);
    }
    if (!chosen) {
      const held = [...new Set(verified.map((c) => c.role))].join(', ');
      throw new AccessDeniedError(
        'wrong-role',
        `caller ${shortKey(creds.publicKey)} with role ${held} may not call ${method} (allowed: ${allowed.join(', ') || 'none'})`,
      );
    }
    const caller = Buffer.from(creds.publicKey).toString('latin1');
    const nonce = Buffer.from(creds.nonce).toString('latin1');
    if (this.nonces.has(caller, nonce, now)) {
      throw new AuthRejectedError(
        'replayed-nonce',
        `replayed nonce ${toHex(creds.nonce)} from ${shortKey(creds.publicKey)}: this request was already accepted`,
      );
    }
    this.nonces.add(caller, nonce, now);
    return { publicKey: creds.publicKey, certificate: chosen, role: chosen.role, grid: chosen.grid, certificates: verified };
  }

  private checkClock(creds: RequestCredentials, now: number): void {
    const drift = creds.timestamp - now;
    if (Math.abs(drift) > this.maxSkewMs) {
      throw new AuthRejectedError(
        'clock-skew',
        `clock skew: request timestamp ${new Date(creds.timestamp).toISOString()} is ${Math.abs(drift)} ms ` +
          `${drift > 0 ? 'ahead of' : 'behind'} the server clock (allowed ±${this.maxSkewMs} ms)`,
      );
    }
  }

  /**
   * Verifies the presented certificates and picks the first valid one whose
   * role the method allows. Throws UNAUTHENTICATED unless at least one
   * certificate verifies; if some certificate with an allowed role failed,
   * its error is the one reported (it says what to renew or fix).
   */
  private pickCertificate(
    creds: RequestCredentials,
    allowed: readonly Role[],
    now: number,
  ): { chosen: Certificate | undefined; verified: Certificate[] } {
    if (creds.certificates.length === 0) {
      throw new AuthRejectedError('no-certificate', `caller ${shortKey(creds.publicKey)} presented no certificate`);
    }
    const verified: Certificate[] = [];
    let firstError: unknown;
    let allowedError: unknown;
    for (const bytes of creds.certificates) {
      try {
        const c = verifyCertificate(bytes, { trustedIssuers: (role) => this.policy.issuersFor(role), now, expectedSubject: creds.publicKey });
        verified.push(c);
      } catch (err) {
        firstError ??= err;
        if (allowedError === undefined && err instanceof AuthRejectedError && err.reason !== 'malformed') {
          const role = roleOf(bytes);
          if (role !== undefined && allowed.includes(role)) allowedError = err;
        }
      }
    }
    const chosen = verified.find((c) => allowed.includes(c.role));
    if (chosen) return { chosen, verified };
    if (allowedError !== undefined) throw allowedError;
    if (verified.length === 0) throw firstError;
    return { chosen: undefined, verified };
  }
}

/** The role a certificate claims, from its layout only (no trust): used to pick which failure to report. */
function roleOf(bytes: Uint8Array): Role | undefined {
  try {
    return decodeCertificate(bytes).role;
  } catch {
    return undefined;
  }
}
