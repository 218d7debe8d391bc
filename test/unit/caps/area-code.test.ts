import { describe, expect, it } from 'vitest';
import { assertAreaCode, isAreaCode } from '../../../libs/caps/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';

describe('area codes', () => {
  it.each(['212', '007', '12345678', '000'])('accepts %j', (code) => {
    expect(isAreaCode(code)).toBe(true);
    expect(() => assertAreaCode('code', code)).not.toThrow();
  });

  it.each<[unknown, string]>([
    ['', 'is empty'],
    ['12', 'has 2 digits, expected 3–8'],
    ['123456789', 'has 9 digits, expected 3–8'],
    ['21a', 'has non-digit "a" at position 2'],
    [' 212', 'has non-digit " " at position 0'],
    ['２１２', 'has non-digit'],
    [212, 'must be an area code string, got number'],
  ])('refuses %j with InvalidArgumentError (%s)', (code, fragment) => {
    expect(isAreaCode(code)).toBe(false);
    expect(() => assertAreaCode('code', code)).toThrow(InvalidArgumentError);
    expect(() => assertAreaCode('code', code)).toThrow(fragment);
  });
});
