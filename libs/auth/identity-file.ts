/**
 * Key and certificate files, as the CLI and services keep them on disk.
 *
 * Key file: JSON `{"publicKey": "<64 hex>", "secretKey": "<64 hex>"}`, mode
 * 0600, written atomically (temp file, fsync, rename) so a crash never leaves
 * half a key. On read the public key must be the one the secret derives: a
 * mismatch means a hand-edited or mixed-up file, and signing with it would
 * only produce calls every server rejects.
 *
 * Certificate file: the certificate's canonical bytes as standard base64 on
 * one line (trailing whitespace ignored on read), mode 0644 (not secret).
 */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import { bytesEqual, fromHex, generateKeyPair, keyPairFromSecret, toHex, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, type KeyPair } from '../crypto/index.js';
import { jsonSyntaxProblem, writeJsonAtomic, writeFileAtomic } from '../config/index.js';
import { assertKeyPair, decodeCertificateBase64, encodeCertificateBase64 } from './certificate.js';
import type { Certificate, Identity } from './types.js';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/**
 * Reads a key file.
 * @throws ConfigError naming the file: unreadable, not JSON, missing or
 *   malformed fields, or a public key that does not match the secret key.
 */
export function readKeyFile(path: string): KeyPair {
  const text = readText(path, 'key file');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`key file ${path} is not valid JSON: ${jsonSyntaxProblem(e, text)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`key file ${path}: expected an object {publicKey, secretKey}`);
  }
  const fields = raw as Record<string, unknown>;
  const hex = (field: string, length: number): Uint8Array => {
    const v = fields[field];
    if (typeof v !== 'string') throw new ConfigError(`key file ${path}: ${field} is missing (expected ${length * 2} hex digits)`);
    try {
      return fromHex(v, field, length);
    } catch (e) {
      throw new ConfigError(`key file ${path}: ${(e as Error).message}`, { cause: e });
    }
  };
  const secretKey = hex('secretKey', SECRET_KEY_BYTES);
  const publicKey = hex('publicKey', PUBLIC_KEY_BYTES);
  const pair = keyPairFromSecret(secretKey);
  if (!bytesEqual(pair.publicKey, publicKey)) {
    throw new ConfigError(`key file ${path}: publicKey ${toHex(publicKey)} does not belong to the secretKey (expected ${toHex(pair.publicKey)})`);
  }
  return pair;
}

/**
 * Writes a key pair atomically with mode 0600 (creating the directory).
 * @throws InvalidArgumentError for a malformed key pair; file system errors propagate.
 */
export function writeKeyFile(path: string, keyPair: KeyPair): void {
  assertKeyPair('keyPair', keyPair);
  writeJsonAtomic(path, { publicKey: toHex(keyPair.publicKey), secretKey: toHex(keyPair.secretKey) }, 0o600);
}

/** The key pair in `path`, or a new one written there: a node's key is made once and kept. */
export function loadOrCreateKeyFile(path: string): KeyPair {
  if (existsSync(path)) return readKeyFile(path);
  const keyPair = generateKeyPair();
  writeKeyFile(path, keyPair);
  return keyPair;
}

/**
 * Reads a certificate file (layout only: servers verify trust and validity per call).
 * @throws ConfigError naming the file when it is unreadable or not a well-formed certificate.
 */
export function readCertificateFile(path: string): Certificate {
  const text = readText(path, 'certificate file').trim();
  try {
    return decodeCertificateBase64(text);
  } catch (e) {
    throw new ConfigError(`certificate file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Writes a certificate as base64 text, atomically, mode 0644 (creating the directory). */
export function writeCertificateFile(path: string, cert: Certificate): void {
  writeFileAtomic(path, encodeCertificateBase64(cert) + '\n', 0o644);
}

/**
 * Loads an identity: a key file plus the certificates it holds.
 * @throws ConfigError naming the file at fault, or when a certificate is for another key.
 */
export function readIdentity(keyPath: string, certificatePaths: readonly string[]): Identity {
  const keyPair = readKeyFile(keyPath);
  const certificates = certificatePaths.map((p) => {
    const c = readCertificateFile(p);
    if (!bytesEqual(c.subject, keyPair.publicKey)) {
      throw new ConfigError(`certificate file ${p} is for key ${toHex(c.subject)}, not ${toHex(keyPair.publicKey)} from ${keyPath}`);
    }
    return c;
  });
  return { keyPair, certificates };
}

