import { describe, expect, it } from 'vitest';
import { checkCap, checkGateway, checkReceipt } from '../../../services/contact-point/index.js';
import { formatCap, toVerifyCap, withAreaCode, type ReadCap } from '../../../libs/caps/index.js';
import { generateKeyPair, randomBytes, toHex, type KeyPair } from '../../../libs/crypto/index.js';
import { issueCertificate, signJson, type Principal } from '../../../libs/auth/index.js';
import { RECEIPT_TAG, receiptRecordId, signReceipt, type ReceiptBody } from '../../../libs/usage/index.js';
import { InvalidArgumentError, NotFoundError, PermissionError } from '../../../libs/errors/index.js';

const read: ReadCap = { kind: 'read', readKey: randomBytes(32), uebHash: randomBytes(32), k: 3, n: 10, size: 10_000, areaCode: '101' };
const verify = toVerifyCap(read);

function principal(grid: string, gw: KeyPair = generateKeyPair()): Principal {
  const ch = generateKeyPair();
  const certificate = issueCertificate(ch, { role: 'gateway-approval', subject: gw.publicKey, grid, notBefore: 0, notAfter: Date.now() + 60_000, limits: {} });
  return { publicKey: gw.publicKey, certificate, role: 'gateway-approval', grid, certificates: [certificate] };
}

describe('checkCap', () => {
  it('accepts a verify-cap of its own area code', () => {
    const cap = checkCap(formatCap(verify), '101');
    expect(cap.kind).toBe('verify');
    expect(Buffer.from(cap.storageIndex).equals(Buffer.from(verify.storageIndex))).toBe(true);
  });

  it('refuses a read-cap with InvalidArgumentError whose message carries no key', () => {
    const text = formatCap(read);
    expect(() => checkCap(text, '101')).toThrow(InvalidArgumentError);
    try {
      checkCap(text, '101');
    } catch (err) {
      expect((err as Error).message).toMatch(/read-cap/);
      expect((err as Error).message.includes(text.split(':')[2]!)).toBe(false);
    }
  });

  it('refuses a read-cap even with leading whitespace', () => {
    expect(() => checkCap(` ${formatCap(read)}`, '101')).toThrow(/read-cap/);
  });

  it('refuses a verify-cap of another area code with NotFoundError naming both areas', () => {
    expect(() => checkCap(formatCap(withAreaCode(verify, '202')), '101')).toThrow(NotFoundError);
    expect(() => checkCap(formatCap(withAreaCode(verify, '202')), '101')).toThrow(/area 202.*area 101/);
  });

  it('refuses a verify-cap without an area code', () => {
    expect(() => checkCap(formatCap(withAreaCode(verify, undefined)), '101')).toThrow(InvalidArgumentError);
  });

  it.each(['', 'hello', 'URI:CHK-Verifier:x:y:3:10:5'])('refuses malformed cap text %j with InvalidArgumentError', (text) => {
    expect(() => checkCap(text, '101')).toThrow(InvalidArgumentError);
  });
});

describe('checkGateway', () => {
  it('refuses a gateway of its own grid with PermissionError', () => {
    expect(() => checkGateway(principal('101'), '101')).toThrow(PermissionError);
  });

  it('accepts a gateway of another grid', () => {
    expect(() => checkGateway(principal('202'), '101')).not.toThrow();
  });
});

describe('checkReceipt', () => {
  const gw = generateKeyPair();
  const cp = generateKeyPair();
  const body = (over: Partial<ReceiptBody> = {}): ReceiptBody => ({
    version: 2,
    recordId: receiptRecordId(toHex(gw.publicKey), 't1'),
    transferId: 't1',
    storageIndex: toHex(randomBytes(16)),
    ranges: [{ offset: 0, length: 4096 }],
    bytes: 4096,
    priceUnitsPerGib: 5,
    priceAsOfMs: 1000,
    exporter: '101',
    importer: '202',
    gateway: toHex(gw.publicKey),
    contactPoint: toHex(cp.publicKey),
    atMs: 2000,
    ...over,
  });

  it("accepts the caller's own receipt for this contact point", () => {
    expect(checkReceipt(signReceipt(body(), gw), principal('202', gw), cp.publicKey, '101').bytes).toBe(4096);
  });

  it('refuses what a lying gateway signs by hand, naming the problem (bad-input table)', () => {
    const cases: [string, ReceiptBody, RegExp][] = [
      ['a 0-byte receipt (it would zero the bill)', body({ bytes: 0, ranges: [] }), /receipt rejected: receipt is malformed: ranges: a receipt covers at least one byte range/],
      ['an un-namespaced record id', body({ recordId: 'rcpt-t1' }), /receipt rejected: .*recordId 'rcpt-t1' is not 'rcpt-[0-9a-f]{64}:t1'/],
    ];
    for (const [what, b, message] of cases) {
      const signed = signJson(RECEIPT_TAG, b, gw);
      expect(() => checkReceipt(signed, principal('202', gw), cp.publicKey, '101'), what).toThrow(InvalidArgumentError);
      expect(() => checkReceipt(signed, principal('202', gw), cp.publicKey, '101'), what).toThrow(message);
    }
  });
});
