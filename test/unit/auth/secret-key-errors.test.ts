/**
 * A malformed secret key is reported naming the file and the field, but
 * never with any run of the key's characters: not by the hex parser, not by
 * a JSON syntax error (V8 quotes a snippet of the text), in the message or
 * anywhere in its cause chain. Covers key files (readKeyFile) and client.json
 * (loadClientConfig), the two places a seed is parsed from text.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readKeyFile } from '../../../libs/auth/index.js';
import { loadClientConfig } from '../../../libs/client/index.js';
import { fromHex, generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { ConfigError, InvalidArgumentError } from '../../../libs/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = generateKeyPair();
const seed = toHex(key.secretKey);

/** Every message of the error and its causes, with the file path removed (a temp name may share characters by chance). */
function messages(err: unknown, path: string): string {
  const out: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) out.push(e.message.split(path).join('<file>'));
  return out.join(' | ');
}

/** The longest run of the seed's characters (4 or more) found in `text`, or ''. */
function leaked(text: string, secret: string): string {
  for (let len = secret.length; len >= 4; len--) {
    for (let i = 0; i + len <= secret.length; i++) if (text.toLowerCase().includes(secret.slice(i, i + len).toLowerCase())) return secret.slice(i, i + len);
  }
  return '';
}

const pub = toHex(key.publicKey);
/** Malformed secretKey values, as they appear in the JSON text. */
const cases: [string, string][] = [
  ['one hex digit short', `"${seed.slice(0, 63)}"`],
  ['a non-hex last character', `"${seed.slice(0, 63)}g"`],
  ['a non-hex first character', `"x${seed.slice(1)}"`],
  ['one byte short', `"${seed.slice(0, 62)}"`],
  ['one byte too many', `"${seed}ab"`],
  ['with a space inside', `"${seed.slice(0, 30)} ${seed.slice(30)}"`],
  ['unquoted (a JSON syntax error)', seed],
  ['unquoted after a letter (a JSON syntax error quoting the text)', `x${seed}`],
  ['an unterminated string (a JSON syntax error)', `"${seed}`],
  ['followed by junk (a JSON syntax error)', `"${seed}" ${seed}`],
];

describe('a malformed secret key never reaches an error message', () => {
  it.each(cases)('key file: %s', (_name, value) => {
    const path = join(dir, `key-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, `{"publicKey": "${pub}", "secretKey": ${value}}`);
    let err: unknown;
    try {
      readKeyFile(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = messages(err, path);
    expect((err as Error).message).toContain(path);
    expect(leaked(text, seed), text).toBe('');
    // A hex or length problem names the field; a syntax error names the line and column.
    expect(text).toMatch(/secretKey|line \d+, column \d+/);
  });

  it.each(cases)('client.json: %s', (_name, value) => {
    const path = join(dir, `client-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      path,
      `{"areaCode": "101", "gridManager": {"address": "127.0.0.1:1", "publicKey": "${pub}"}, "publicKey": "${pub}", "secretKey": ${value}, "certificate": "AA=="}`,
    );
    let err: unknown;
    try {
      loadClientConfig(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = messages(err, path);
    expect((err as Error).message).toContain(path);
    expect(leaked(text, seed), text).toBe('');
    expect(text).toMatch(/secretKey|line \d+, column \d+/);
  });

  it('fromHex says where the text stops being hex without quoting it', () => {
    const bad = `${seed.slice(0, 40)}z${seed.slice(41)}`;
    expect(() => fromHex(bad, 'secretKey', 32)).toThrow(InvalidArgumentError);
    expect(() => fromHex(bad, 'secretKey', 32)).toThrow(/secretKey is not hex: character 41 of 64 is not a hex digit/);
    try {
      fromHex(bad, 'secretKey', 32);
    } catch (e) {
      expect(leaked((e as Error).message, seed)).toBe('');
    }
    expect(() => fromHex(seed.slice(1), 'secretKey', 32)).toThrow(/odd number of hex digits \(63\)/);
  });
});
