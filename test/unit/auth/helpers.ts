/**
 * An independent writer of certificate bytes, straight from the layout table
 * in docs/auth.md (not through libs/auth's ByteWriter), so tests can check the
 * real encoder against the documented layout and build malformed variants
 * that are still correctly signed (the decoder, not the signature, must
 * reject them).
 */
import { sign, taggedHash, type KeyPair } from '../../../libs/crypto/index.js';

export interface RawBody {
  magic?: number[];
  version?: number;
  role: string;
  subject: Uint8Array;
  issuer: Uint8Array;
  grid: string;
  notBefore: bigint;
  notAfter: bigint;
  /** In the order given (not sorted): tests build out-of-order lists on purpose. */
  limits: [string, bigint][];
  /** Appended after the limits, before the signature. */
  trailing?: number[];
}

function u64(v: bigint): number[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return [...b];
}

function str(s: string): number[] {
  const b = Buffer.from(s, 'latin1');
  return [b.length, ...b];
}

export function rawBody(f: RawBody): Uint8Array {
  const out: number[] = [
    ...(f.magic ?? [0x49, 0x47, 0x43, 0x54]),
    f.version ?? 1,
    ...str(f.role),
    ...f.subject,
    ...f.issuer,
    ...str(f.grid),
    ...u64(f.notBefore),
    ...u64(f.notAfter),
    (f.limits.length >> 8) & 0xff,
    f.limits.length & 0xff,
  ];
  for (const [k, v] of f.limits) out.push(...str(k), ...u64(v));
  out.push(...(f.trailing ?? []));
  return Uint8Array.from(out);
}

/** Body bytes followed by the issuer's signature over taggedHash('intergrid:certificate:v1', body). */
export function rawSigned(body: Uint8Array, issuer: KeyPair): Uint8Array {
  const sig = sign(taggedHash('intergrid:certificate:v1', body), issuer.secretKey);
  const out = new Uint8Array(body.length + sig.length);
  out.set(body);
  out.set(sig, body.length);
  return out;
}
