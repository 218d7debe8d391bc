/**
 * Minimal big-endian writer and strict reader for the canonical encodings in
 * this folder (certificates, request digests). Internal: not exported from
 * index.ts. The reader throws LayoutInvalidError naming `what` and the
 * offset, so a malformed structure is never half-accepted.
 */
import { LayoutInvalidError } from '../errors/index.js';

export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }

  u8(v: number): this {
    return this.bytes(Uint8Array.of(v));
  }

  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v);
    return this.bytes(b);
  }

  /** `v` must be a non-negative safe integer (checked by the caller). */
  u64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v));
    return this.bytes(b);
  }

  /** u8 length prefix followed by ASCII/UTF-8 bytes of `s` (caller checks the length fits). */
  shortString(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u8(b.length).bytes(b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

export class ByteReader {
  private offset = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  bytes(n: number, field: string): Uint8Array {
    if (this.remaining < n) {
      throw new LayoutInvalidError(`${this.what}: truncated at offset ${this.offset} reading ${field} (${n} bytes, ${this.remaining} left)`);
    }
    const out = this.buf.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(field: string): number {
    return this.bytes(1, field)[0]!;
  }

  u16(field: string): number {
    const b = this.bytes(2, field);
    return (b[0]! << 8) | b[1]!;
  }

  /** Reads a uint64 and requires it to be a JS safe integer (all our values are). */
  u64(field: string): number {
    const at = this.offset;
    const b = this.bytes(8, field);
    const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new LayoutInvalidError(`${this.what}: ${field} at offset ${at} is ${v}, above 2^53-1`);
    }
    return Number(v);
  }

  /** u8 length then that many bytes, checked against `pattern` (ASCII only, so the encoding is canonical). */
  asciiString(field: string, min: number, max: number, pattern: RegExp): string {
    const at = this.offset;
    const len = this.u8(`${field} length`);
    if (len < min || len > max) {
      throw new LayoutInvalidError(`${this.what}: ${field} length ${len} at offset ${at} is outside [${min}, ${max}]`);
    }
    const raw = this.bytes(len, field);
    const s = String.fromCharCode(...raw);
    if (!pattern.test(s)) {
      throw new LayoutInvalidError(`${this.what}: ${field} at offset ${at} has invalid characters`);
    }
    return s;
  }

  /** Requires that every byte was consumed: trailing bytes would make two encodings of one value. */
  end(): void {
    if (this.remaining !== 0) {
      throw new LayoutInvalidError(`${this.what}: ${this.remaining} unexpected trailing bytes at offset ${this.offset}`);
    }
  }
}
