/**
 * The self-signed X.509 certificate a service presents in its TLS handshake
 * (DESIGN.md "Transport"). No CA is involved: peers pin the certificate's
 * public key (spki-pin.ts), never its issuer, names or dates, so the
 * certificate is minted afresh in memory at every start from the service's
 * Ed25519 identity key and nothing about it is stored.
 *
 * Why the identity key itself: the key is already pinned wherever a peer
 * learns the address, so no second key, file or pin field can drift out of
 * step with it. Reusing it is safe because the two uses never sign the same
 * kind of message: TLS 1.3 (the only version our clients offer) signs
 * 64 × 0x20 ‖ "TLS 1.3, server CertificateVerify" ‖ 0x00 ‖ transcript hash,
 * while every Intergrid signature is over a 32-byte tagged hash or a text
 * that starts with "intergrid-" (docs/security.md "Transport").
 *
 * The encoding is RFC 5280 through @peculiar/asn1-x509; the signature is
 * node:crypto's Ed25519 (RFC 8410: algorithm 1.3.101.112, no parameters).
 */
import { createPrivateKey, sign as signDer, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as X509 from '@peculiar/asn1-x509';
import type { KeyPair } from '../crypto/index.js';
import { assertBytes } from '../errors/index.js';
import { ed25519Spki } from './spki-pin.js';

const ED25519_OID = '1.3.101.112';
const COMMON_NAME_OID = '2.5.4.3';
/** PKCS #8 v1 wrapping of a 32-byte Ed25519 seed (RFC 8410 §7). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** Backdated so a peer whose clock is a little behind still accepts it (peers pin the key; dates are not checked). */
const BACKDATE_MS = 24 * 3600_000;
const VALID_MS = 10 * 365 * 24 * 3600_000;

/** A certificate and its key in the PEM form grpc-js takes. */
export interface TlsKeyCertPair {
  certPem: Buffer;
  keyPem: Buffer;
}

/** The node:crypto private key object of an Ed25519 seed. */
export function ed25519PrivateKeyObject(secretKey: Uint8Array): KeyObject {
  assertBytes('secretKey', secretKey, 32);
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
}

/**
 * Mints the self-signed TLS certificate of `keyPair`, valid from a day
 * before `nowMs` for ten years, subject and issuer "CN=intergrid".
 * @throws InvalidArgumentError for a malformed key pair.
 */
export function selfSignedTlsCertificate(keyPair: KeyPair, nowMs = Date.now()): TlsKeyCertPair {
  const privateKey = ed25519PrivateKeyObject(keyPair.secretKey);
  const algorithm = new X509.AlgorithmIdentifier({ algorithm: ED25519_OID });
  const name = new X509.Name([
    new X509.RelativeDistinguishedName([new X509.AttributeTypeAndValue({ type: COMMON_NAME_OID, value: new X509.AttributeValue({ utf8String: 'intergrid' }) })]),
  ]);
  const tbs = new X509.TBSCertificate({
    version: X509.Version.v3,
    // A positive serial from the clock: unique enough for a certificate no one looks up.
    serialNumber: arrayBufferOf(Buffer.from(`01${Math.floor(nowMs).toString(16).padStart(12, '0')}`, 'hex')),
    signature: algorithm,
    issuer: name,
    subject: name,
    validity: new X509.Validity({ notBefore: new Date(nowMs - BACKDATE_MS), notAfter: new Date(nowMs + VALID_MS) }),
    subjectPublicKeyInfo: AsnConvert.parse(ed25519Spki(keyPair.publicKey), X509.SubjectPublicKeyInfo),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const certificate = new X509.Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: arrayBufferOf(signDer(null, tbsDer, privateKey)) });
  const certPem = Buffer.from(new X509Certificate(Buffer.from(AsnConvert.serialize(certificate))).toString());
  const keyPem = Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  return { certPem, keyPem };
}

/** A standalone ArrayBuffer holding exactly `b`'s bytes (the ASN.1 schema types take ArrayBuffers). */
function arrayBufferOf(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
