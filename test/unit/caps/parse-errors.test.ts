/**
 * Bad-input table: each malformed text gives a CapParseError whose message
 * names the problem, and no message ever carries the read key.
 */
import { describe, expect, it } from 'vitest';
import { formatCap, parseCap, parseReadCap, parseVerifyCap, toVerifyCap } from '../../../libs/caps/index.js';
import { CapParseError } from '../../../libs/errors/index.js';
import { READ_EXAMPLE } from './helpers.js';

const READ = formatCap(READ_EXAMPLE); // URI:CHK:<key>:<ueb>:3:10:12345:212
const VERIFY = formatCap(toVerifyCap(READ_EXAMPLE));
const [, , KEY, UEB] = READ.split(':') as [string, string, string, string];
const [, , SI] = VERIFY.split(':') as [string, string, string];

/** Replaces field `i` (0-based, after splitting on ':') of `text`. */
function setField(text: string, i: number, value: string): string {
  const f = text.split(':');
  f[i] = value;
  return f.join(':');
}

const cases: [string, unknown, string | RegExp][] = [
  // Shape
  ['a non-string', 42, 'cap must be a string, got number'],
  ['null', null, 'cap must be a string, got null'],
  ['the empty string', '', 'cap is empty'],
  ['an absurdly long text', 'URI:CHK:' + 'a'.repeat(5000), 'longer than any valid cap'],
  ['trailing whitespace', READ + ' ', 'has trailing whitespace'],
  ['a trailing newline', READ + '\n', 'has trailing whitespace'],
  ['leading whitespace', '\t' + READ, 'has leading whitespace'],
  ['a foreign prefix', READ.replace('URI:CHK:', 'URI:SSK:'), `'URI:SSK:…' has the wrong prefix`],
  ['a lowercase prefix', READ.replace('URI:CHK:', 'uri:chk:'), 'prefixes are case-sensitive'],
  ['a miscased verifier prefix', VERIFY.replace('Verifier', 'verifier'), 'prefixes are case-sensitive'],
  ['no prefix at all', KEY, 'has the wrong prefix'],
  ['6 fields', READ.split(':').slice(0, 6).join(':'), `'URI:CHK:…' has 6 fields, expected 7 or 8`],
  ['9 fields', READ + ':1', `'URI:CHK:…' has 9 fields, expected 7 or 8`],
  ['only the prefix', 'URI:CHK:', 'has 3 fields, expected 7 or 8'],
  ['a verify-cap with 6 fields', VERIFY.split(':').slice(0, 6).join(':'), `'URI:CHK-Verifier:…' has 6 fields`],
  // Base32 fields
  ['an empty read key', setField(READ, 2, ''), 'read key (field 3) is empty'],
  ['an uppercase read key', setField(READ, 2, KEY.toUpperCase()), 'read key (field 3) has uppercase base32 character'],
  ['a read key with one uppercase letter', setField(READ, 2, 'A' + KEY.slice(1)), "uppercase base32 character 'A' at position 0"],
  ['a padded read key', setField(READ, 2, KEY + '===='), "read key (field 3) has base32 padding '=' at position 52"],
  ['a read key with a digit outside the alphabet', setField(READ, 2, KEY.slice(0, 5) + '1' + KEY.slice(6)), "invalid base32 character '1' at position 5"],
  ['a read key with 8', setField(READ, 2, KEY.slice(0, 5) + '8' + KEY.slice(6)), "invalid base32 character '8' at position 5"],
  ['a read key with a space inside', setField(READ, 2, KEY.slice(0, 5) + ' ' + KEY.slice(6)), 'invalid base32 character U+0020 at position 5'],
  ['a read key with a non-ASCII letter', setField(READ, 2, KEY.slice(0, 5) + 'é' + KEY.slice(6)), 'invalid base32 character U+00E9 at position 5'],
  ['a short read key', setField(READ, 2, KEY.slice(0, 51)), 'read key (field 3) has 51 base32 characters (31 bytes), expected 52 (32 bytes)'],
  ['a long read key', setField(READ, 2, KEY + 'a'), 'has 53 base32 characters (33 bytes), expected 52 (32 bytes)'],
  ['a storage index where the read key belongs', setField(READ, 2, SI), 'read key (field 3) has 26 base32 characters (16 bytes), expected 52'],
  ['a read key where the storage index belongs', setField(VERIFY, 2, KEY), 'storage index (field 3) has 52 base32 characters (32 bytes), expected 26 (16 bytes)'],
  ['non-canonical trailing bits in a read key', setField(READ, 2, KEY.slice(0, 51) + '7'), 'read key (field 3) is not canonical base32 (non-zero trailing bits)'],
  ['non-canonical trailing bits in a storage index', setField(VERIFY, 2, SI.slice(0, 25) + 'z'), 'storage index (field 3) is not canonical base32'],
  ['non-canonical trailing bits in a UEB hash', setField(READ, 3, UEB.slice(0, 51) + 'b'), 'UEB hash (field 4) is not canonical base32'],
  ['a short UEB hash', setField(READ, 3, UEB.slice(0, 50)), 'UEB hash (field 4) has 50 base32 characters'],
  ['an uppercase UEB hash', setField(READ, 3, UEB.toUpperCase()), 'UEB hash (field 4) has uppercase'],
  // Numbers
  ['k = 0', setField(READ, 4, '0'), `k (field 5) "0" is out of range 1..256`],
  ['n = 257', setField(READ, 5, '257'), `n (field 6) "257" is out of range 1..256`],
  ['k = 257 and n = 257', setField(setField(READ, 4, '257'), 5, '257'), 'k (field 5) "257" is out of range 1..256'],
  ['k > n', setField(READ, 4, '11'), 'has k 11 greater than n 10'],
  ['an empty k', setField(READ, 4, ''), 'k (field 5) is empty'],
  ['a leading zero in k', setField(READ, 4, '03'), 'k (field 5) "03" has a leading zero'],
  ['a leading zero in size', setField(READ, 6, '012345'), 'size (field 7) "012345" has a leading zero'],
  ['a signed k', setField(READ, 4, '+3'), 'k (field 5) "+3" is not a decimal integer'],
  ['a negative n', setField(READ, 5, '-10'), 'n (field 6) "-10" is not a decimal integer'],
  ['a hex size', setField(READ, 6, '0x10'), 'size (field 7) "0x10" is not a decimal integer'],
  ['an exponent size', setField(READ, 6, '1e3'), 'size (field 7) "1e3" is not a decimal integer'],
  ['a fractional size', setField(READ, 6, '12.5'), 'is not a decimal integer'],
  ['size = 2^53', setField(READ, 6, '9007199254740992'), 'size (field 7) "9007199254740992" is greater than 2^53-1'],
  ['a 30-digit size', setField(READ, 6, '1'.repeat(30)), 'is greater than 2^53-1'],
  ['non-ASCII digits in size', setField(READ, 6, '١٢٣'), 'is not a decimal integer'],
  // Area codes
  ['an empty area code (trailing colon)', setField(READ, 7, ''), 'area code (field 8) "" is empty, expected 3–8 digits'],
  ['a 2-digit area code', setField(READ, 7, '12'), 'area code (field 8) "12" has 2 digits, expected 3–8'],
  ['a 9-digit area code', setField(READ, 7, '123456789'), 'has 9 digits, expected 3–8'],
  ['a letter in the area code', setField(READ, 7, '21x'), 'area code (field 8) "21x" has non-digit "x" at position 2'],
  ['a verify-cap with a bad area code', setField(VERIFY, 7, 'abc'), `'URI:CHK-Verifier:…' area code (field 8) "abc" has non-digit`],
];

describe('parseCap bad-input table', () => {
  it.each(cases)('rejects %s with CapParseError', (_, text, fragment) => {
    let caught: unknown;
    try {
      parseCap(text as string);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CapParseError);
    const err = caught as CapParseError;
    expect(err.code).toBe('CAP_PARSE');
    if (typeof fragment === 'string') expect(err.message).toContain(fragment);
    else expect(err.message).toMatch(fragment);
  });

  it.each(cases)('never echoes the read key when rejecting %s', (_, text) => {
    let message = '';
    try {
      parseCap(text as string);
    } catch (e) {
      message = (e as Error).message;
    }
    // No 9-character run of the key (or its uppercase form) appears.
    for (let i = 0; i + 9 <= KEY.length; i++) {
      expect(message.toLowerCase()).not.toContain(KEY.slice(i, i + 9));
    }
  });

  it('parseReadCap and parseVerifyCap report the same shape errors as parseCap', () => {
    const bad = READ.split(':').slice(0, 6).join(':');
    expect(() => parseReadCap(bad)).toThrow(`'URI:CHK:…' has 6 fields, expected 7 or 8`);
    expect(() => parseVerifyCap(bad)).toThrow(`'URI:CHK:…' has 6 fields, expected 7 or 8`);
  });
});
