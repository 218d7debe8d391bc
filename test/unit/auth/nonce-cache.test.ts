/** The replay cache remembers a nonce for exactly its window, and its memory is bounded. */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnavailableError } from '../../../libs/errors/index.js';
import { NonceCache } from '../../../libs/auth/index.js';

describe('NonceCache', () => {
  it('remembers a nonce until ttl has passed', () => {
    const c = new NonceCache(100);
    c.add('n', 1000);
    expect(c.has('n', 1000)).toBe(true);
    expect(c.has('n', 1099)).toBe(true);
    expect(c.has('n', 1100)).toBe(false);
  });

  it('does not confuse distinct nonces', () => {
    const c = new NonceCache(100);
    c.add('a', 0);
    expect(c.has('b', 0)).toBe(false);
  });

  it('drops expired entries, so memory follows the request rate in the window', () => {
    const c = new NonceCache(100);
    for (let t = 0; t < 1000; t++) c.add(`n${t}`, t);
    expect(c.size(999)).toBe(100); // those added at 900..999
  });

  it('fails closed with UnavailableError when full, and accepts again once entries expire', () => {
    const c = new NonceCache(100, 3);
    c.add('a', 0);
    c.add('b', 1);
    c.add('c', 2);
    expect(() => c.add('d', 3)).toThrow(UnavailableError);
    expect(c.has('a', 3)).toBe(true);
    c.add('d', 100);
    expect(c.has('d', 100)).toBe(true);
  });

  it('rejects a non-positive window', () => {
    expect(() => new NonceCache(0)).toThrow(InvalidArgumentError);
  });
});
