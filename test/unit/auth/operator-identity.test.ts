/**
 * The operator identity file (libs/auth operator-identity.ts) is the one
 * implementation behind both admin.json kinds: the grid admin's (authority
 * `gridManager`, services/grid-manager loadAdminIdentity) and the
 * clearinghouse operator's (authority `clearinghouse`,
 * services/clearinghouse loadClearinghouseAdmin).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeCertificateBase64,
  issueCertificate,
  loadOperatorIdentity,
  writeKeyFile,
  writeOperatorIdentity,
  type Authority,
} from '../../../libs/auth/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { ConfigError } from '../../../libs/errors/index.js';
import { loadAdminIdentity } from '../../../services/grid-manager/index.js';
import { loadClearinghouseAdmin } from '../../../services/clearinghouse/index.js';

const dir = mkdtempSync(join(tmpdir(), 'intergrid-operator-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KINDS: { authority: Authority; role: 'admin' | 'clearinghouse-admin'; grid: string }[] = [
  { authority: 'gridManager', role: 'admin', grid: '101' },
  { authority: 'clearinghouse', role: 'clearinghouse-admin', grid: '000' },
];

/** Writes a key file and an identity file for `authority`; returns what went in. */
function writeIdentity(name: string, kind: (typeof KINDS)[number], address?: string) {
  const authorityKey = generateKeyPair();
  const operator = generateKeyPair();
  writeKeyFile(join(dir, `${name}-key.json`), operator);
  const cert = issueCertificate(authorityKey, { role: kind.role, subject: operator.publicKey, grid: kind.grid, notBefore: 0, notAfter: 2 ** 40, limits: {} });
  const path = join(dir, `${name}.json`);
  const entry = { ...(address ? { address } : {}), publicKey: toHex(authorityKey.publicKey) };
  writeOperatorIdentity(path, kind.authority, {
    [kind.authority]: entry,
    keyFile: `./${name}-key.json`,
    certificate: encodeCertificateBase64(cert),
  } as Parameters<typeof writeOperatorIdentity>[2]);
  return { path, authorityKey, operator, cert };
}

describe('operator identity file', () => {
  it.each(KINDS)('round-trips an identity administering $authority (key, certificate, authority under its own name)', (kind) => {
    const w = writeIdentity(`rt-${kind.authority}`, kind, '127.0.0.1:4999');
    const got = loadOperatorIdentity(w.path, kind.authority);
    expect(Buffer.from(got.identity.keyPair.publicKey)).toEqual(Buffer.from(w.operator.publicKey));
    expect(Buffer.from(got.identity.certificates[0]!.encoded)).toEqual(Buffer.from(w.cert.encoded));
    expect(Buffer.from(got[kind.authority].publicKey)).toEqual(Buffer.from(w.authorityKey.publicKey));
    expect(got[kind.authority].address).toBe('127.0.0.1:4999');
    expect(statSync(w.path).mode & 0o777).toBe(0o600);
  });

  it.each(KINDS)('leaves the address out when none was recorded ($authority)', (kind) => {
    const w = writeIdentity(`noaddr-${kind.authority}`, kind);
    const got = loadOperatorIdentity(w.path, kind.authority);
    expect(got[kind.authority]).not.toHaveProperty('address');
  });

  it('the services read the same file through it: loadAdminIdentity (gridManager), loadClearinghouseAdmin (clearinghouse)', () => {
    const gm = writeIdentity('svc-gm', KINDS[0]!);
    const ch = writeIdentity('svc-ch', KINDS[1]!);
    expect(Buffer.from(loadAdminIdentity(gm.path).gridManager.publicKey)).toEqual(Buffer.from(gm.authorityKey.publicKey));
    expect(Buffer.from(loadClearinghouseAdmin(ch.path).clearinghouse.publicKey)).toEqual(Buffer.from(ch.authorityKey.publicKey));
  });

  it('refuses a file written for the other authority, naming the file and the field (ConfigError)', () => {
    const gm = writeIdentity('other-gm', KINDS[0]!);
    expect(() => loadOperatorIdentity(gm.path, 'clearinghouse')).toThrow(ConfigError);
    expect(() => loadClearinghouseAdmin(gm.path)).toThrow(gm.path);
    expect(JSON.parse(readFileSync(gm.path, 'utf8'))).toHaveProperty('gridManager');
  });
});
