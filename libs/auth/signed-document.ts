/**
 * Signed documents: a body and the issuer's Ed25519 signature over
 *
 *   taggedHash(DOCUMENT_TAG_PREFIX + tag, body)
 *
 * The tag names the kind of document ('intergrid:directory:v1' for a grid's
 * server directory, statements later), so a signature made for one kind never
 * opens as another, nor as a certificate or request (their tags do not start
 * with the prefix). JSON documents use canonical JSON (sorted keys, no
 * whitespace) so a document has exactly one byte form.
 */
import { IntegrityError, InvalidArgumentError, LayoutInvalidError, assertBytes } from '../errors/index.js';
import { sign, verify, taggedHash, shortKey, PUBLIC_KEY_BYTES, type KeyPair } from '../crypto/index.js';
import { assertKeyPair } from './certificate.js';

export const DOCUMENT_TAG_PREFIX = 'intergrid:signed-document:';

/** Tag for a grid manager's signed server directory. */
export const DIRECTORY_TAG = 'intergrid:directory:v1';

export interface SignedDocument {
  body: Uint8Array;
  signature: Uint8Array;
}

const TAG_PATTERN = /^[\x21-\x7e]{1,128}$/;

function digest(tag: string, body: Uint8Array): Uint8Array {
  if (typeof tag !== 'string' || !TAG_PATTERN.test(tag)) {
    throw new InvalidArgumentError(`document tag '${String(tag)}' must be 1..128 printable ASCII characters`);
  }
  return taggedHash(DOCUMENT_TAG_PREFIX + tag, body);
}

/**
 * Signs `body` as a document of kind `tag`.
 * @example const { body, signature } = signDocument(DIRECTORY_TAG, bytes, gridManagerKey)
 * @throws InvalidArgumentError for a bad tag, body or key pair.
 */
export function signDocument(tag: string, body: Uint8Array, key: KeyPair): SignedDocument {
  assertBytes('document body', body);
  assertKeyPair('key', key);
  const copy = Uint8Array.from(body);
  return { body: copy, signature: sign(digest(tag, copy), key.secretKey) };
}

/**
 * Checks that `signature` is `issuer`'s signature over `body` as a document
 * of kind `tag`, and returns the body.
 * @throws IntegrityError when the signature does not verify (tampered body,
 *   wrong tag, wrong issuer, malformed signature).
 * @throws InvalidArgumentError for a bad tag or issuer key length.
 */
export function openDocument(tag: string, body: Uint8Array, signature: Uint8Array, issuer: Uint8Array): Uint8Array {
  assertBytes('document body', body);
  assertBytes('document issuer', issuer, PUBLIC_KEY_BYTES);
  if (!(signature instanceof Uint8Array) || !verify(signature, digest(tag, body), issuer)) {
    throw new IntegrityError(`'${tag}' document (${body.length} bytes): signature by ${shortKey(issuer)} does not verify`);
  }
  return body;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code unit (JS default sort),
 * no whitespace, numbers as JSON.stringify writes them. Object properties
 * whose value is undefined are omitted (as JSON.stringify does).
 * @throws InvalidArgumentError for values JSON cannot carry faithfully:
 *   non-finite numbers, bigint, functions, symbols, undefined in arrays, and
 *   objects that are not plain (Date, Uint8Array, Map… — encode them first).
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`canonical JSON: ${path} is ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value
          .map((v, i) => {
            if (v === undefined) throw new InvalidArgumentError(`canonical JSON: ${path}[${i}] is undefined`);
            return write(v, `${path}[${i}]`);
          })
          .join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new InvalidArgumentError(`canonical JSON: ${path} is a ${proto?.constructor?.name ?? 'non-plain object'}, not a plain object`);
      }
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(obj).sort()) {
        const v = obj[k];
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${write(v, `${path}.${k}`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new InvalidArgumentError(`canonical JSON: ${path} is a ${typeof value}`);
  }
}

/**
 * Signs `value` as canonical JSON (UTF-8) under `tag`.
 * @example signJson(DIRECTORY_TAG, { grid: '101', servers }, gridManagerKey)
 * @throws InvalidArgumentError if `value` is not canonical-JSON-encodable, or for a bad tag/key.
 */
export function signJson(tag: string, value: unknown, key: KeyPair): SignedDocument {
  return signDocument(tag, new TextEncoder().encode(canonicalJson(value)), key);
}

/**
 * Verifies a signed JSON document and parses it. The body must be canonical
 * JSON (as signJson writes it). `parse` may validate the shape (e.g. a zod
 * schema's `parse`); its errors propagate unchanged.
 * @throws IntegrityError when the signature does not verify.
 * @throws LayoutInvalidError when the signed body is not canonical JSON.
 */
export function openJson<T = unknown>(
  tag: string,
  body: Uint8Array,
  signature: Uint8Array,
  issuer: Uint8Array,
  parse?: (value: unknown) => T,
): T {
  openDocument(tag, body, signature, issuer);
  const { text, value } = readJson(tag, body);
  return canonicalAndParsed(tag, text, value, parse);
}

/**
 * openJson for a document that names its own issuer: the body is parsed once,
 * `issuerOf` finds the key in it (and throws when there is none), the
 * signature is verified with that key, then the canonical form and `parse`
 * are checked as openJson does. The caller still decides whether it trusts
 * that key.
 * @throws LayoutInvalidError when the body is not (canonical) UTF-8 JSON.
 * @throws IntegrityError when the signature does not verify.
 */
export function openJsonSignedBy<T = unknown>(
  tag: string,
  body: Uint8Array,
  signature: Uint8Array,
  issuerOf: (value: unknown) => Uint8Array,
  parse?: (value: unknown) => T,
): T {
  const { text, value } = readJson(tag, body);
  openDocument(tag, body, signature, issuerOf(value));
  return canonicalAndParsed(tag, text, value, parse);
}

/** One decoder for all documents (decode() without streaming keeps no state between calls). */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function readJson(tag: string, body: Uint8Array): { text: string; value: unknown } {
  try {
    const text = utf8.decode(body);
    return { text, value: JSON.parse(text) as unknown };
  } catch (e) {
    throw new LayoutInvalidError(`'${tag}' document is not UTF-8 JSON: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Whether every object in a JSON.parse result lists its keys in canonical
 * (sorted) order. If so, JSON.stringify writes exactly canonicalJson's bytes
 * (same key order, same string and number forms; a parse result holds no
 * undefined, non-finite number or non-plain object), so the canonical-form
 * check is this walk plus one native stringify instead of rebuilding the
 * text key by key (docs/billing.md "Performance"). Otherwise (unsorted
 * text, or integer-like keys such as "99" and "101", which JSON.parse lists
 * in numeric order) canonicalJson decides, as before.
 */
function keysSorted(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (!keysSorted(v)) return false;
    return true;
  }
  const obj = value as Record<string, unknown>;
  let prev: string | undefined;
  for (const k of Object.keys(obj)) {
    if (prev !== undefined && !(prev < k)) return false;
    if (!keysSorted(obj[k])) return false;
    prev = k;
  }
  return true;
}

function canonicalAndParsed<T>(tag: string, text: string, value: unknown, parse?: (value: unknown) => T): T {
  // Keys out of order in the parse (e.g. integer-like keys, which JSON.parse lists first): the full check.
  if (keysSorted(value) ? JSON.stringify(value) !== text : canonicalJson(value) !== text) {
    throw new LayoutInvalidError(`'${tag}' document is not canonical JSON`);
  }
  return parse ? parse(value) : (value as T);
}
