/**
 * How an invite service authenticates a redemption (grid invites at the grid
 * manager, federation invites at the clearinghouse): the caller has no
 * certificate, so the request carries the one-time secret, a time and an
 * Ed25519 signature by the key it wants certified or admitted. One rule for
 * both services: the secret has its length, the time is within the allowed
 * skew of this service's clock, and the signature over the invite kind's
 * signing bytes verifies under the named key.
 */
import { verify } from '../crypto/index.js';
import { InvalidArgumentError, PermissionError } from '../errors/index.js';

export interface RedeemRequest {
  secret: Uint8Array;
  atMs: number;
  signature: Uint8Array;
  /** The key the redemption is for (a new node's key, a grid manager key). */
  key: Uint8Array;
}

export interface RedeemRule {
  secretBytes: number;
  /** The invite kind's tagged hash of the secret (what the store keeps). */
  hashSecret(secret: Uint8Array): Uint8Array;
  /** The invite kind's signing bytes over that hash. */
  signingBytes(secretHash: Uint8Array): Uint8Array;
  now: number;
  maxSkewMs: number;
  /** For messages: "the grid manager's", "the clearinghouse's". */
  clockOf: string;
  /** For messages: "the key", "the grid manager key". */
  keyName: string;
}

/**
 * @returns the secret's hash, to look the invite up by.
 * @throws InvalidArgumentError for a secret of the wrong length; PermissionError for a time off the clock or a bad signature.
 */
export function authenticateRedeem(req: RedeemRequest, rule: RedeemRule): Uint8Array {
  if (req.secret.length !== rule.secretBytes) throw new InvalidArgumentError(`invite secret must be ${rule.secretBytes} bytes`);
  if (Math.abs(rule.now - req.atMs) > rule.maxSkewMs) {
    throw new PermissionError(`redeem request time is ${Math.round((req.atMs - rule.now) / 1000)} s off ${rule.clockOf} clock (more than the allowed skew)`);
  }
  const hash = rule.hashSecret(req.secret);
  if (!verify(req.signature, rule.signingBytes(hash), req.key)) throw new PermissionError(`redeem request is not signed by ${rule.keyName} it names`);
  return hash;
}
