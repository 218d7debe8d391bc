/**
 * What receipts and served records share: field schemas, and opening a
 * document signed by a key it names itself (the caller then decides whether
 * it trusts that key for that grid).
 */
import { z } from 'zod';
import { openJsonSignedBy, type SignedDocument } from '../auth/index.js';
import { fromHex } from '../crypto/index.js';
import { LayoutInvalidError } from '../errors/index.js';

export const safeUint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const hexKey = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 32-byte key in lowercase hex');
/** Transfer ids are the gateway's choice: printable ASCII without spaces (as FetchSegments accepts them). */
export const transferId = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'expected 1-128 printable ASCII characters');

/**
 * A transfer's name across the federation: the gateway's key (64 hex) and
 * the id it chose. Transfer ids are each gateway's own choice, so only the
 * pair is unique — two gateways may pick the same id, and neither may
 * overwrite (or be merged with) the other's transfer. The key has a fixed
 * length, so the pair reads back unambiguously whatever the id contains.
 * Used for record ids, outbox ids and the clearinghouse's transfer rows.
 * @example transferKey('ab…(64 hex)', 't1') === 'ab…(64 hex):t1'
 */
export function transferKey(gateway: string, transfer: string): string {
  return `${gateway}:${transfer}`;
}

/** zod parse → LayoutInvalidError naming the first bad field. */
export function parseShape<T>(what: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LayoutInvalidError(`${what} is malformed: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Verifies a signed JSON document with the key found in its own body under
 * `signerField`, then parses it with `parse`.
 * @throws LayoutInvalidError when the body is not JSON or names no key;
 *   IntegrityError when the signature does not verify with that key.
 */
export function openSelfSigned<T>(tag: string, signed: SignedDocument, signerField: string, parse: (v: unknown) => T): T {
  const signerOf = (claimed: unknown): Uint8Array => {
    const signer = typeof claimed === 'object' && claimed !== null ? (claimed as Record<string, unknown>)[signerField] : undefined;
    if (typeof signer !== 'string' || !/^[0-9a-f]{64}$/.test(signer)) {
      throw new LayoutInvalidError(`'${tag}' document names no ${signerField} key`);
    }
    return fromHex(signer, signerField, 32);
  };
  return openJsonSignedBy(tag, signed.body, signed.signature, signerOf, parse);
}
