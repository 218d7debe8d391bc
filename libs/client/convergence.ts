/**
 * Read keys for uploads. Random by default (DESIGN.md "file format"): equal
 * files then share nothing, and nobody can confirm a guessed plaintext.
 * With a convergence secret in the client config, the key is libs/format's
 * convergent key of the file (secret, codec parameters, plaintext), so a
 * re-upload of the same file finds its shares already in place.
 */
import { open } from 'node:fs/promises';
import { randomBytes, fromHex } from '../crypto/index.js';
import { ConvergentKeyHasher, type CodecParams } from '../format/index.js';

/** A fresh random 32-byte read key. */
export function randomReadKey(): Uint8Array {
  return randomBytes(32);
}

/** The convergent read key of the file at `path`: one streaming pass, O(chunk) memory. */
export async function convergentFileKey(secretHex: string, params: CodecParams, path: string): Promise<Uint8Array> {
  const hasher = new ConvergentKeyHasher(fromHex(secretHex), { k: params.k, n: params.n, segmentSize: params.segmentSize });
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(Math.min(Math.max(params.segmentSize, 64 * 1024), 4 * 1024 * 1024));
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hasher.digest();
}
