/**
 * The text form shared by every Intergrid invite code: a prefix naming the
 * kind and version, then base32 (RFC 4648, no padding) of
 *
 *   head (fixed length) | len(field 1) | field 1 | … | len(field n) | field n | sha256(head … field n)[0..4]
 *
 * Fields are UTF-8, 0..255 bytes each (1..255 unless the layout allows an
 * empty one). Used by grid invites (`IG1-`, libs/grid/invite.ts) and
 * federation invites (`IC1-`, libs/federation/grid-invite.ts). The checksum
 * lets a mistyped or truncated code be refused before anything is sent;
 * errors never echo the code (it carries a secret).
 */
import { base32nopad } from '@scure/base';
import { bytesEqual, sha256 } from '../crypto/index.js';
import { InvalidArgumentError } from '../errors/index.js';

export interface InviteField {
  /** Used in messages ("invite area code must be 1..255 bytes"). */
  name: string;
  /** An empty string is allowed (encoded as length 0). */
  optional?: boolean;
}

/** One kind of invite code. */
export interface InviteLayout {
  /** 'IG1-', 'IC1-': upper case, ends with '-'. */
  prefix: string;
  /** What the code is, for messages: 'grid invite code'. */
  kind: string;
  /** Bytes before the first field. */
  headBytes: number;
  fields: readonly InviteField[];
  /**
   * Codes of other kinds a user may paste here by mistake: prefix → the
   * message to give instead of "does not start with …".
   */
  misplaced?: Readonly<Record<string, string>>;
}

const CHECKSUM_BYTES = 4;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/**
 * The code's text for `head` and `fields` (in the layout's order).
 * @throws InvalidArgumentError when the head has the wrong length or a field is too long (or empty and not optional).
 */
export function encodeInviteCode(layout: InviteLayout, head: Uint8Array, fields: readonly string[]): string {
  if (head.length !== layout.headBytes) throw new InvalidArgumentError(`${layout.kind}: head must be ${layout.headBytes} bytes, got ${head.length}`);
  if (fields.length !== layout.fields.length) throw new InvalidArgumentError(`${layout.kind}: expected ${layout.fields.length} fields, got ${fields.length}`);
  const parts: number[] = [...head];
  layout.fields.forEach((f, i) => {
    const b = enc.encode(fields[i]);
    const min = f.optional ? 0 : 1;
    if (b.length < min || b.length > 255) throw new InvalidArgumentError(`invite ${f.name} must be ${min}..255 bytes`);
    parts.push(b.length, ...b);
  });
  const body = new Uint8Array(parts);
  const sum = sha256(body).subarray(0, CHECKSUM_BYTES);
  return layout.prefix + base32nopad.encode(new Uint8Array([...body, ...sum]));
}

/**
 * Parses a code of `layout` (spaces, dashes after the prefix and case are ignored).
 * @returns the head bytes and the fields, in the layout's order.
 * @throws InvalidArgumentError naming what is wrong (wrong kind, garbled), never echoing the code.
 */
export function decodeInviteCode(layout: InviteLayout, text: string): { head: Uint8Array; fields: string[] } {
  const t = text.trim().toUpperCase();
  if (!t.startsWith(layout.prefix)) {
    for (const [prefix, message] of Object.entries(layout.misplaced ?? {})) if (t.startsWith(prefix)) throw new InvalidArgumentError(message);
    throw new InvalidArgumentError(`not an Intergrid ${layout.kind}: it should start with ${layout.prefix}`);
  }
  let raw: Uint8Array;
  try {
    raw = base32nopad.decode(t.slice(layout.prefix.length).replace(/[\s-]/g, ''));
  } catch {
    throw new InvalidArgumentError(`${layout.kind} is garbled: not valid base32 (check it was copied whole)`);
  }
  const garbled = new InvalidArgumentError(`${layout.kind} is garbled: its checksum does not match (check it was copied whole)`);
  const minFieldBytes = layout.fields.reduce((n, f) => n + (f.optional ? 1 : 2), 0);
  if (raw.length < layout.headBytes + minFieldBytes + CHECKSUM_BYTES) throw garbled;
  const body = raw.subarray(0, raw.length - CHECKSUM_BYTES);
  if (!bytesEqual(sha256(body).subarray(0, CHECKSUM_BYTES), raw.subarray(raw.length - CHECKSUM_BYTES))) throw garbled;
  let pos = layout.headBytes;
  const fields = layout.fields.map((f) => {
    const n = body[pos] ?? 0;
    if ((n === 0 && !f.optional) || pos + 1 + n > body.length) throw garbled;
    let s: string;
    try {
      s = dec.decode(body.subarray(pos + 1, pos + 1 + n));
    } catch {
      throw garbled;
    }
    pos += 1 + n;
    return s;
  });
  if (pos !== body.length) throw garbled;
  return { head: body.slice(0, layout.headBytes), fields };
}
