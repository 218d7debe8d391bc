/**
 * Big-endian fixed-width fields for the format's fixed-length structures
 * (share header, UEB). Internal to libs/format. u64 values are limited to
 * 2^53 − 1 (JS safe integers); a stored u64 above that is malformed.
 */
import { InternalError, LayoutInvalidError } from '../errors/index.js';

/** Writes fields in order into a buffer of known length. */
export class FieldWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.pos, BigInt(v));
    this.pos += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** The filled buffer; the caller's table and the writes must agree on the length. */
  done(): Uint8Array {
    if (this.pos !== this.bytes.length) throw new InternalError(`wrote ${this.pos} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

/** Reads fields in order; every failure is a LayoutInvalidError naming `what`. */
export class FieldReader {
  private readonly view: DataView;
  private pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(): number {
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u64(field: string): number {
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new LayoutInvalidError(`${this.what}: ${field} ${v} exceeds 2^53 - 1`);
    return Number(v);
  }
  raw(length: number): Uint8Array {
    const b = this.bytes.slice(this.pos, this.pos + length);
    this.pos += length;
    return b;
  }
}

/** ASCII magic bytes. */
export function magicBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'ascii'));
}
