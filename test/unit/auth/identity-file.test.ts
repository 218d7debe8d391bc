/** Key and certificate files: round trips, file modes, and a clear ConfigError naming the file. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { ConfigError } from '../../../libs/errors/index.js';
import {
  issueCertificate,
  readCertificateFile,
  readIdentity,
  readKeyFile,
  writeCertificateFile,
  writeKeyFile,
} from '../../../libs/auth/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const issuer = generateKeyPair();
const key = generateKeyPair();
const cert = issueCertificate(issuer, { role: 'client', subject: key.publicKey, grid: '101', notBefore: 0, notAfter: 10 ** 13, limits: { quota_bytes: 7 } });

describe('key files', () => {
  it('round-trips a key pair as JSON hex', () => {
    const p = join(dir, 'a', 'key.json');
    writeKeyFile(p, key);
    const back = readKeyFile(p);
    expect(toHex(back.secretKey)).toBe(toHex(key.secretKey));
    expect(toHex(back.publicKey)).toBe(toHex(key.publicKey));
    expect(JSON.parse(readFileSync(p, 'utf8'))).toEqual({ publicKey: toHex(key.publicKey), secretKey: toHex(key.secretKey) });
  });

  it('writes the key file with mode 0600', () => {
    const p = join(dir, 'mode.json');
    writeKeyFile(p, key);
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{oops', /is not valid JSON/],
    ['an array', '[]', /expected an object/],
    ['no secretKey', JSON.stringify({ publicKey: toHex(key.publicKey) }), /secretKey is missing/],
    ['a short secretKey', JSON.stringify({ publicKey: toHex(key.publicKey), secretKey: 'abcd' }), /secretKey must be 32 bytes/],
    ['a non-hex publicKey', JSON.stringify({ publicKey: 'zz'.repeat(32), secretKey: toHex(key.secretKey) }), /publicKey is not hex/],
    [
      'a publicKey of another key',
      JSON.stringify({ publicKey: toHex(issuer.publicKey), secretKey: toHex(key.secretKey) }),
      /does not belong to the secretKey/,
    ],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects a key file with ${what}: ConfigError naming the file`, () => {
      const p = join(dir, 'bad-key.json');
      writeFileSync(p, text);
      expect(() => readKeyFile(p)).toThrow(ConfigError);
      expect(() => readKeyFile(p)).toThrow(message);
      expect(() => readKeyFile(p)).toThrow(p);
    });
  }

  it('rejects a missing key file with ConfigError naming it', () => {
    expect(() => readKeyFile(join(dir, 'nope.json'))).toThrow(/cannot read key file .*nope\.json: ENOENT/);
  });
});

describe('certificate files', () => {
  it('round-trips a certificate as one line of base64', () => {
    const p = join(dir, 'client.cert');
    writeCertificateFile(p, cert);
    expect(readFileSync(p, 'utf8')).toMatch(/^[A-Za-z0-9+/]+=*\n$/);
    expect(readCertificateFile(p)).toEqual(cert);
  });

  it('rejects a file that is not a certificate with ConfigError naming the file', () => {
    const p = join(dir, 'junk.cert');
    writeFileSync(p, 'aGVsbG8=\n');
    expect(() => readCertificateFile(p)).toThrow(ConfigError);
    expect(() => readCertificateFile(p)).toThrow(/junk\.cert: certificate: /);
  });

  it('loads an identity and refuses a certificate issued to another key', () => {
    const keyPath = join(dir, 'id-key.json');
    const certPath = join(dir, 'id.cert');
    writeKeyFile(keyPath, key);
    writeCertificateFile(certPath, cert);
    expect(readIdentity(keyPath, [certPath]).certificates).toHaveLength(1);
    const otherKeyPath = join(dir, 'other-key.json');
    writeKeyFile(otherKeyPath, issuer);
    expect(() => readIdentity(otherKeyPath, [certPath])).toThrow(ConfigError);
  });
});
