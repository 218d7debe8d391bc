/**
 * The replay cache remembers a caller's nonce for exactly its window, and
 * its memory is bounded per caller, so one caller cannot lock others out.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, QuotaError, UnavailableError } from '../../../libs/errors/index.js';
import { NonceCache } from '../../../libs/auth/index.js';

describe('NonceCache', () => {
  it('remembers a nonce until ttl has passed', () => {
    const c = new NonceCache(100);
    c.add('alice', 'n', 1000);
    expect(c.has('alice', 'n', 1000)).toBe(true);
    expect(c.has('alice', 'n', 1099)).toBe(true);
    expect(c.has('alice', 'n', 1100)).toBe(false);
  });

  it('does not confuse distinct nonces, nor one nonce of two callers', () => {
    const c = new NonceCache(100);
    c.add('alice', 'a', 0);
    expect(c.has('alice', 'b', 0)).toBe(false);
    expect(c.has('bob', 'a', 0)).toBe(false);
  });

  it('drops expired entries, so memory follows the request rate in the window', () => {
    const c = new NonceCache(100);
    for (let t = 0; t < 1000; t++) c.add('alice', `n${t}`, t);
    expect(c.size('alice', 999)).toBe(100); // those added at 900..999
  });

  it('refuses a caller past its own bound (QuotaError) while another caller is still accepted', () => {
    const c = new NonceCache(100, 3);
    c.add('flooder', 'a', 0);
    c.add('flooder', 'b', 1);
    c.add('flooder', 'c', 2);
    expect(() => c.add('flooder', 'd', 3)).toThrow(QuotaError);
    // The flood costs the honest caller nothing.
    c.add('honest', 'x', 3);
    expect(c.has('honest', 'x', 3)).toBe(true);
    // The flooder's remembered nonces stay remembered (no replay window opens) ...
    expect(c.has('flooder', 'a', 3)).toBe(true);
    // ... and it is accepted again once its own entries expire.
    c.add('flooder', 'd', 100);
    expect(c.has('flooder', 'd', 100)).toBe(true);
  });

  it('bounds the number of callers (UnavailableError for a new one), freeing callers whose nonces all expired', () => {
    const c = new NonceCache(100, 10, 2);
    c.add('a', 'n', 0);
    c.add('b', 'n', 1);
    expect(() => c.add('c', 'n', 2)).toThrow(UnavailableError);
    // Known callers still get through.
    c.add('a', 'm', 2);
    expect(c.callerCount(50)).toBe(2);
    // b's last nonce expires at 101: then c has room.
    c.add('c', 'n', 101);
    expect(c.has('c', 'n', 101)).toBe(true);
    expect(c.callerCount(101)).toBe(2);
  });

  it('rejects a non-positive window or bound', () => {
    expect(() => new NonceCache(0)).toThrow(InvalidArgumentError);
    expect(() => new NonceCache(10, 0)).toThrow(InvalidArgumentError);
    expect(() => new NonceCache(10, 1, 0)).toThrow(InvalidArgumentError);
  });
});
