/**
 * Why a caller or a certificate was refused. Both classes extend the shared
 * hierarchy (libs/errors), so libs/rpc/status.ts maps them like their parents:
 * AuthRejectedError → UNAUTHENTICATED, AccessDeniedError → PERMISSION_DENIED.
 * The `reason` is a stable label for logs and metrics; the message names the
 * offending value for people.
 */
import { AuthenticationError, PermissionError } from '../errors/index.js';

/** Reasons a caller could not be authenticated (UNAUTHENTICATED). */
export type AuthRejection =
  | 'missing-credentials'
  | 'malformed'
  | 'bad-signature'
  | 'wrong-target'
  | 'clock-skew'
  | 'replayed-nonce'
  | 'no-certificate'
  | 'untrusted-issuer'
  | 'bad-certificate-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-subject';

/** Reasons an authenticated caller was refused (PERMISSION_DENIED). */
export type AccessDenial = 'revoked' | 'wrong-role' | 'method-not-allowed' | 'refused-by-policy';

/** The caller (or a certificate it presented) failed authentication. */
export class AuthRejectedError extends AuthenticationError {
  readonly reason: AuthRejection;
  constructor(reason: AuthRejection, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The caller is authenticated but may not do this. */
export class AccessDeniedError extends PermissionError {
  readonly reason: AccessDenial;
  constructor(reason: AccessDenial, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
