/**
 * The request checker: every rule of the one server-side auth check
 * (STYLE.md §5), without gRPC's call plumbing (that is secure-service.ts).
 * One RequestChecker per service holds its policy and replay cache.
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
 *  6. the method is in the policy                  PERMISSION_DENIED
 *  7. the method lists a role the caller holds      PERMISSION_DENIED
 *  8. the policy's `admit` hook accepts the caller for this method (which
 *     grid it speaks for, approved gateway, not suspended) PERMISSION_DENIED
 *  9. nonce not seen from this caller in the replay
 *     window, then remembered                        UNAUTHENTICATED
 *     (or RESOURCE_EXHAUSTED when this caller already has its bound of live
 *     nonces; other callers are not affected)
 * The nonce is looked up and remembered only once steps 1–8 passed, so only
 * a certified, unrevoked caller allowed this method can put anything in the
 * replay cache, and only into its own part of it (nonce-cache.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { assertBytes, assertInt } from '../errors/index.js';
import { shortKey, toHex, PUBLIC_KEY_BYTES } from '../crypto/index.js';
import { toStatus } from '../rpc/index.js';
import { AccessDeniedError, AuthRejectedError } from './auth-errors.js';
import { decodeCertificate, verifyCertificate } from './certificate.js';
import { DEFAULT_MAX_SKEW_MS, NonceCache } from './nonce-cache.js';
import { readRequestCredentials, verifyRequestSignature, type RequestCredentials } from './request-signature.js';
import type { AuthPolicy, Certificate, Principal, Role } from './types.js';


/** The short method name ('ListShares') of a full path ('/intergrid.storage.Storage/ListShares'). */
export function shortName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Holds one service's policy and replay cache, and runs the per-call check. */
export class RequestChecker {
  private readonly maxSkewMs: number;
  private readonly nonces: NonceCache;
  private readonly serverKey: Uint8Array;
  private readonly now: () => number;

  /** @throws InvalidArgumentError for a bad maxSkewMs or serverKey. */
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

  /**
   * Runs steps 1–9 of the file comment for a call to `path` carrying
   * `metadata`, whose first request message hashes to `messageHash`
   * (SHA-256 of its received bytes, or NO_MESSAGE_HASH); returns the caller.
   * @throws AuthRejectedError / AccessDeniedError (or what the policy's callbacks throw).
   */
  check(path: string, metadata: grpc.Metadata, messageHash: Uint8Array): Principal {
    const creds = readRequestCredentials(metadata);
    verifyRequestSignature(creds, this.serverKey, path, messageHash);
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
    const principal: Principal = { publicKey: creds.publicKey, certificate: chosen, role: chosen.role, grid: chosen.grid, certificates: verified };
    // Step 8: the service's own rules about who this caller is (its grid, its approval), before anything is remembered.
    this.policy.admit?.(principal, method);
    const caller = Buffer.from(creds.publicKey).toString('latin1');
    const nonce = Buffer.from(creds.nonce).toString('latin1');
    if (this.nonces.has(caller, nonce, now)) {
      throw new AuthRejectedError(
        'replayed-nonce',
        `replayed nonce ${toHex(creds.nonce)} from ${shortKey(creds.publicKey)}: this request was already accepted`,
      );
    }
    this.nonces.add(caller, nonce, now);
    return principal;
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
