/**
 * Small argument checks, in the style of noble's `abytes`/`anumber`: they throw
 * InvalidArgumentError naming the argument and the value received.
 */
import { InvalidArgumentError } from './errors.js';

/** Asserts `value` is a Uint8Array, optionally of an exact length. */
export function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${name} must be bytes, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new InvalidArgumentError(`${name} must be ${length} bytes, got ${value.length}`);
  }
}

/** Asserts `value` is a safe integer in [min, max]. */
export function assertInt(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be in [${min}, ${max}], got ${value}`);
  }
}

/** Asserts `value` is a non-empty string. */
export function assertString(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${name} must be a non-empty string, got ${describe(value)}`);
  }
}

/** Short, safe description of a value for error messages (never dumps large buffers). */
export function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string') return value.length > 60 ? `'${value.slice(0, 57)}…'` : `'${value}'`;
  if (value === null) return 'null';
  return typeof value;
}

/** Longest name a principal or grid may be given (grid manager Approve, clearinghouse AdmitGrid). */
export const MAX_NAME_LENGTH = 128;

/**
 * A name sent in a request, trimmed: at most MAX_NAME_LENGTH characters.
 * Returns '' for a missing or blank name (the caller picks a default or refuses).
 */
export function nameField(what: string, value: string | undefined): string {
  const name = (value ?? '').trim();
  if (name.length > MAX_NAME_LENGTH) throw new InvalidArgumentError(`${what} '${name.slice(0, 40)}…' is longer than ${MAX_NAME_LENGTH} characters`);
  return name;
}

/**
 * A non-negative integer sent in a request (a proto uint64 arrives as number
 * or string; missing = 0), at most `max`.
 */
export function uintField(name: string, value: number | string | undefined | null, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value ?? 0);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`${name} ${String(value)} is not an integer in [0, ${max}]`);
  return n;
}

const ADDRESS_PATTERN = /^[^\s:]{1,253}:\d{1,5}$/;

/** An address a server announces or registers for others to dial: host:port, port 1..65535. */
export function dialAddressField(value: string | undefined): string {
  const address = value ?? '';
  if (!ADDRESS_PATTERN.test(address)) throw new InvalidArgumentError(`address '${address.slice(0, 60)}' is not host:port`);
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`address '${address}' has port ${port}, expected 1..65535`);
  return address;
}

/** A 32-byte public key sent in a request (a proto `bytes` field; missing = empty, refused). */
export function publicKeyField(name: string, value: Uint8Array | undefined | null): Uint8Array {
  const key = new Uint8Array(value ?? []);
  assertBytes(name, key, 32);
  return key;
}
