import { randomBytes as nodeRandomBytes } from 'node:crypto';

/** `n` bytes from the OS CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n));
}
