/**
 * Tagged SHA-256: every use of a hash has its own tag, so a value hashed for
 * one purpose can never be confused with another (Tahoe's tagged_hash idea).
 *
 *   taggedHash(tag, parts…) = SHA-256( netstring(tag) || part_0 || part_1 || … )
 *   netstring(tag)          = ascii(decimal byte length of tag) || ':' || tag || ','
 *
 * A single SHA-256 (not Tahoe's SHA-256d): every tagged input in the format has
 * a fixed structure or is itself length-framed, so length extension gives an
 * attacker nothing, and the data path hashes every byte at least twice.
 * node:crypto (OpenSSL, SHA-NI where present) is the implementation.
 */
import { createHash, type Hash } from 'node:crypto';

export const HASH_BYTES = 32;

function netstring(tag: string): Buffer {
  const t = Buffer.from(tag, 'utf8');
  return Buffer.concat([Buffer.from(`${t.length}:`, 'ascii'), t, Buffer.from(',', 'ascii')]);
}

const prefixCache = new Map<string, Buffer>();
function prefix(tag: string): Buffer {
  let p = prefixCache.get(tag);
  if (!p) {
    p = netstring(tag);
    prefixCache.set(tag, p);
  }
  return p;
}

/** One-shot tagged hash of the concatenation of `parts`. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256').update(prefix(tag));
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Incremental tagged hasher, for data that arrives in pieces. */
export class TaggedHasher {
  private readonly h: Hash;
  constructor(tag: string) {
    this.h = createHash('sha256').update(prefix(tag));
  }
  update(data: Uint8Array): this {
    this.h.update(data);
    return this;
  }
  digest(): Uint8Array {
    return new Uint8Array(this.h.digest());
  }
}

/** Plain SHA-256 (untagged), for interop values such as file checksums and request digests. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
