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
