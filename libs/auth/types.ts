/**
 * The auth contract shared by every service (see docs/auth.md).
 * Implemented by certificate.ts, request-signature.ts, client-interceptor.ts
 * secure-service.ts and request-checker.ts in this folder.
 */
import type { KeyPair } from '../crypto/index.js';

/** Roles a certificate can carry. */
export type Role =
  // issued by a grid manager for its own grid
  | 'storage-server'
  | 'client'
  | 'gateway'
  | 'contact-point'
  | 'admin'
  // issued by the clearinghouse
  | 'grid-member'
  | 'gateway-approval'
  | 'clearinghouse-admin';

export const ROLES: readonly Role[] = [
  'storage-server',
  'client',
  'gateway',
  'contact-point',
  'admin',
  'grid-member',
  'gateway-approval',
  'clearinghouse-admin',
];

/** The signed fields of a certificate. Times are Unix milliseconds. */
export interface CertificateBody {
  role: Role;
  subject: Uint8Array; // 32-byte Ed25519 public key of the holder
  issuer: Uint8Array; // 32-byte Ed25519 public key of the signer
  grid: string; // area code of the grid the certificate is for
  notBefore: number;
  notAfter: number;
  /** Named non-negative integer limits, e.g. { quota_bytes: 1e9 }. */
  limits: Record<string, number>;
}

export interface Certificate extends CertificateBody {
  /** Canonical encoding: body bytes followed by the 64-byte signature. */
  encoded: Uint8Array;
  signature: Uint8Array;
}

/** What a caller presents: its key pair and the certificates it holds. */
export interface Identity {
  keyPair: KeyPair;
  certificates: Certificate[];
}

/** An authenticated caller, as the server check hands it to handlers. */
export interface Principal {
  publicKey: Uint8Array;
  /** The certificate that authorised this call (role allowed by the method). */
  certificate: Certificate;
  role: Role;
  grid: string;
  /** Every certificate the caller presented that verified. */
  certificates: Certificate[];
}

/** Server-side policy for one service. */
export interface AuthPolicy {
  /** Roles allowed per method name (the short name, e.g. 'AllocateBuckets'). A method not listed is denied. */
  methods: Record<string, readonly Role[]>;
  /** Issuer public keys trusted to sign certificates of `role` (may change at run time). */
  issuersFor(role: Role): readonly Uint8Array[];
  /** Revocation check by certificate subject (public key). */
  isRevoked?(subject: Uint8Array): boolean;
  /**
   * The service's own rules about who the caller is, run after the role
   * check and before the nonce is remembered (request-checker.ts step 8):
   * which grid it speaks for, whether it is an approved gateway, whether its
   * grid is suspended. `method` is the short name. Throws to refuse, with an
   * AccessDeniedError or PermissionError (PERMISSION_DENIED, its message as
   * the details); must answer synchronously, like `issuersFor`. Handlers
   * then only read `principalOf(call)`.
   */
  admit?(principal: Principal, method: string): void;
  /** Allowed |server clock - request timestamp|; default 60 s. */
  maxSkewMs?: number;
  /** Clock, for tests. */
  now?(): number;
  /**
   * This server's Ed25519 identity key (the key its TLS certificate carries):
   * requests are verified as signed for it, so a request signed for another
   * server is refused here (request-signature.ts "target").
   */
  serverKey: Uint8Array;
  /** Most live nonces of one caller (replay cache bound per caller); past it that caller gets RESOURCE_EXHAUSTED. Default 100 000. */
  maxNoncesPerCaller?: number;
  /** Most distinct callers in the replay cache; past it new callers get UNAVAILABLE. Default 50 000. */
  maxCallers?: number;
  /** Called with unexpected (non-Intergrid) errors thrown by the policy callbacks; the caller sees INTERNAL. */
  onInternalError?(err: unknown, method: string): void;
}
