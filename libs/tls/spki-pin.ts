/**
 * TLS key pins (DESIGN.md "Transport"; docs/security.md "Transport").
 *
 * Every service's TLS certificate carries the service's own Ed25519 identity
 * key (tls-certificate.ts), so wherever a peer learns a service's address it
 * already learns the key that pins it: client.json, the grid manager's signed
 * directory, the clearinghouse's signed resolution and invite codes all name
 * the service's public key next to its address. The pin is the SHA-256 of
 * the certificate's SubjectPublicKeyInfo (as Tahoe pins SPKI hashes), shown
 * in hex so an operator can compare it with `openssl s_client`'s output.
 *
 * An Ed25519 SubjectPublicKeyInfo (RFC 8410 §4) is a fixed 12-byte DER
 * prefix followed by the 32-byte key:
 *
 * | offset | bytes | value                                         |
 * |-------:|------:|-----------------------------------------------|
 * |      0 |    12 | 30 2a 30 05 06 03 2b 65 70 03 21 00           |
 * |     12 |    32 | the Ed25519 public key                        |
 */
import { sha256, toHex, PUBLIC_KEY_BYTES } from '../crypto/index.js';
import { assertBytes } from '../errors/index.js';

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The DER SubjectPublicKeyInfo of an Ed25519 public key.
 * @throws InvalidArgumentError when `publicKey` is not 32 bytes.
 */
export function ed25519Spki(publicKey: Uint8Array): Buffer {
  assertBytes('publicKey', publicKey, PUBLIC_KEY_BYTES);
  return Buffer.concat([ED25519_SPKI_PREFIX, publicKey]);
}

/**
 * The pin of a DER SubjectPublicKeyInfo: SHA-256, lowercase hex.
 * @example spkiPin(peerCertificate.publicKey.export({ type: 'spki', format: 'der' }))
 */
export function spkiPin(spki: Uint8Array): string {
  return toHex(sha256(spki));
}

/**
 * The pin of the TLS certificate of the service whose identity key is
 * `publicKey` (what `openssl x509 -pubkey | openssl pkey -pubin -outform der
 * | sha256sum` prints for its certificate).
 * @throws InvalidArgumentError when `publicKey` is not 32 bytes.
 */
export function tlsPinOf(publicKey: Uint8Array): string {
  return spkiPin(ed25519Spki(publicKey));
}
