import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { signJson } from '../../../libs/auth/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { IntegrityError, InvalidArgumentError, LayoutInvalidError } from '../../../libs/errors/index.js';
import {
  RECEIPT_TAG,
  SERVED_TAG,
  embedReceipt,
  openReceipt,
  openServedRecord,
  openUsageRecord,
  receiptRecordId,
  servedRecordId,
  signReceipt,
  signServedRecord,
  type ReceiptBody,
  type ServedRecordBody,
} from '../../../libs/usage/index.js';

const gateway = generateKeyPair();
const contactPoint = generateKeyPair();
const storageIndex = '00112233445566778899aabbccddeeff';
const GW = toHex(gateway.publicKey);

function receiptBody(over: Partial<ReceiptBody> = {}): ReceiptBody {
  return {
    version: 2,
    recordId: receiptRecordId(GW, 't1'),
    transferId: 't1',
    storageIndex,
    ranges: [{ offset: 0, length: 1000 }],
    bytes: 1000,
    priceUnitsPerGib: 5,
    priceAsOfMs: 1_700_000_000_000,
    exporter: '101',
    importer: '102',
    gateway: toHex(gateway.publicKey),
    contactPoint: toHex(contactPoint.publicKey),
    atMs: 1_700_000_001_000,
    ...over,
  };
}

function servedBody(receipt: ReturnType<typeof signReceipt> | null, over: Partial<ServedRecordBody> = {}): ServedRecordBody {
  return {
    version: 2,
    recordId: servedRecordId(GW, 't1'),
    transferId: 't1',
    storageIndex,
    bytes: 1000,
    exporter: '101',
    importer: '102',
    gateway: toHex(gateway.publicKey),
    contactPoint: toHex(contactPoint.publicKey),
    startedAtMs: 1_700_000_000_500,
    atMs: 1_700_000_001_500,
    receipt: receipt ? embedReceipt(receipt) : null,
    ...over,
  };
}

/** Replaces `"bytes":1000` in a signed body, keeping the signature (a tampered record). */
function tamper(body: Uint8Array, from: string, to: string): Uint8Array {
  const text = new TextDecoder().decode(body);
  expect(text).toContain(from);
  return new TextEncoder().encode(text.replace(from, to));
}

describe('receipts', () => {
  it('round-trips a signed receipt', () => {
    const signed = signReceipt(receiptBody(), gateway);
    expect(openReceipt(signed)).toEqual(receiptBody());
  });

  it('rejects a receipt whose bytes were changed after signing', () => {
    const signed = signReceipt(receiptBody(), gateway);
    const forged = { body: tamper(signed.body, '"bytes":1000', '"bytes":9000'), signature: signed.signature };
    expect(() => openReceipt(forged)).toThrow(IntegrityError);
    expect(() => openReceipt(forged)).toThrow(/signature by .* does not verify/);
  });

  it('rejects a receipt naming another gateway than its signer', () => {
    const other = generateKeyPair();
    const signed = signJson(RECEIPT_TAG, receiptBody(), other);
    expect(() => openReceipt(signed)).toThrow(IntegrityError);
  });

  it('refuses to sign inconsistent receipts', () => {
    expect(() => signReceipt(receiptBody({ bytes: 999 }), gateway)).toThrow(/ranges cover 1000 bytes, the receipt says 999/);
    expect(() => signReceipt(receiptBody({ recordId: 'x' }), gateway)).toThrow(InvalidArgumentError);
    expect(() => signReceipt(receiptBody({ importer: '101' }), gateway)).toThrow(/both 101/);
    expect(() =>
      signReceipt(receiptBody({ ranges: [{ offset: 10, length: 5 }, { offset: 12, length: 995 }] }), gateway),
    ).toThrow(/overlap/);
    expect(() => signReceipt(receiptBody(), contactPoint)).toThrow(/not the signing key/);
    expect(() => signReceipt(receiptBody({ bytes: -1 }), gateway)).toThrow(InvalidArgumentError);
  });

  it('version 2: the record id names the gateway; a 0-byte receipt and version 1 are refused (bad-input table)', () => {
    const other = toHex(generateKeyPair().publicKey);
    const cases: [string, ReceiptBody, RegExp][] = [
      ['0 bytes, no ranges', receiptBody({ bytes: 0, ranges: [] }), /ranges: a receipt covers at least one byte range/],
      ['an empty range', receiptBody({ bytes: 0, ranges: [{ offset: 0, length: 0 }] }), /a range is empty/],
      ['the old, un-namespaced record id', receiptBody({ recordId: 'rcpt-t1' }), new RegExp(`recordId 'rcpt-t1' is not 'rcpt-${GW}:t1'`)],
      ["another gateway's record id", receiptBody({ recordId: receiptRecordId(other, 't1') }), /recordId 'rcpt-[0-9a-f]{64}:t1' is not/],
      ['version 1', { ...receiptBody(), version: 1 as unknown as 2 }, /version: Invalid (literal|input)/],
    ];
    for (const [what, body, message] of cases) {
      expect(() => signReceipt(body, gateway), what).toThrow(InvalidArgumentError);
      expect(() => signReceipt(body, gateway), what).toThrow(message);
      // Signed anyway (a lying gateway signs what it likes): opening refuses it too.
      expect(() => openReceipt(signJson(RECEIPT_TAG, body, gateway)), what).toThrow(LayoutInvalidError);
      expect(() => openReceipt(signJson(RECEIPT_TAG, body, gateway)), what).toThrow(message);
    }
    expect(receiptRecordId(GW, 't1')).not.toBe(receiptRecordId(other, 't1'));
    // A version-1 document (its tag) does not open as version 2.
    expect(() => openReceipt(signJson('intergrid:receipt:v1', receiptBody(), gateway))).toThrow(IntegrityError);
  });

  it('rejects a correctly signed but inconsistent body', () => {
    const signed = signJson(RECEIPT_TAG, receiptBody({ bytes: 5 }), gateway);
    expect(() => openReceipt(signed)).toThrow(LayoutInvalidError);
  });

  it('any single changed byte of a receipt is rejected (property)', () => {
    const signed = signReceipt(receiptBody(), gateway);
    fc.assert(
      fc.property(fc.nat(signed.body.length + signed.signature.length - 1), fc.integer({ min: 1, max: 255 }), (pos, delta) => {
        const body = Uint8Array.from(signed.body);
        const signature = Uint8Array.from(signed.signature);
        if (pos < body.length) body[pos] = (body[pos]! + delta) & 0xff;
        else signature[pos - body.length] = (signature[pos - body.length]! + delta) & 0xff;
        expect(() => openReceipt({ body, signature })).toThrow();
      }),
      { numRuns: 200 },
    );
  });
});

describe('served records', () => {
  it('round-trips with and without a receipt', () => {
    const receipt = signReceipt(receiptBody(), gateway);
    const withReceipt = openServedRecord(signServedRecord(servedBody(receipt), contactPoint));
    expect(withReceipt.served.bytes).toBe(1000);
    expect(withReceipt.receipt).toEqual(receiptBody());
    const without = openServedRecord(signServedRecord(servedBody(null), contactPoint));
    expect(without.receipt).toBeNull();
  });

  it('rejects a tampered served record and a tampered embedded receipt', () => {
    const receipt = signReceipt(receiptBody(), gateway);
    const signed = signServedRecord(servedBody(receipt), contactPoint);
    expect(() => openServedRecord({ body: tamper(signed.body, '"bytes":1000', '"bytes":2000'), signature: signed.signature })).toThrow(
      IntegrityError,
    );
    const forgedReceipt = { body: tamper(receipt.body, '"bytes":1000', '"bytes":2000'), signature: receipt.signature };
    const carrying = signServedRecord(servedBody(forgedReceipt), contactPoint);
    expect(() => openServedRecord(carrying)).toThrow(IntegrityError);
  });

  it("version 2: carries the contact point's own count and start; bad bodies are refused (bad-input table)", () => {
    const receipt = signReceipt(receiptBody(), gateway);
    // bytes is the contact point's count, independent of the receipt's.
    expect(openServedRecord(signServedRecord(servedBody(receipt, { bytes: 4000 }), contactPoint)).served).toMatchObject({ bytes: 4000, startedAtMs: 1_700_000_000_500 });
    const cases: [string, ServedRecordBody, RegExp][] = [
      ['the old record id', servedBody(receipt, { recordId: 'srv-t1' }), new RegExp(`recordId 'srv-t1' is not 'srv-${GW}:t1'`)],
      ['started after it was signed', servedBody(receipt, { startedAtMs: 1_700_000_002_000 }), /startedAtMs 1700000002000 is after atMs 1700000001500/],
      ['no startedAtMs', (({ startedAtMs: _s, ...rest }) => rest as ServedRecordBody)(servedBody(receipt)), /startedAtMs: (Required|Invalid input)/],
      ['version 1', { ...servedBody(receipt), version: 1 as unknown as 2 }, /version: Invalid (literal|input)/],
    ];
    for (const [what, body, message] of cases) {
      expect(() => signServedRecord(body, contactPoint), what).toThrow(message);
      expect(() => openServedRecord(signJson(SERVED_TAG, body, contactPoint)), what).toThrow(LayoutInvalidError);
      expect(() => openServedRecord(signJson(SERVED_TAG, body, contactPoint)), what).toThrow(message);
    }
  });

  it('rejects a receipt about another transfer or party', () => {
    const receipt = signReceipt(receiptBody({ transferId: 't2', recordId: receiptRecordId(GW, 't2') }), gateway);
    const signed = signServedRecord(servedBody(receipt), contactPoint);
    expect(() => openServedRecord(signed)).toThrow(/receipt's transferId 't2' differs/);
    const other = signReceipt(receiptBody({ exporter: '103' }), gateway);
    expect(() => openServedRecord(signServedRecord(servedBody(other), contactPoint))).toThrow(/exporter/);
  });

  it('openUsageRecord dispatches on kind and refuses unknown kinds', () => {
    const receipt = signReceipt(receiptBody(), gateway);
    const r = openUsageRecord({ kind: 'receipt', ...receipt });
    expect(r.kind === 'receipt' && r.recordId).toBe(`rcpt-${GW}:t1`);
    const s = openUsageRecord({ kind: 'served', ...signServedRecord(servedBody(receipt), contactPoint) });
    expect(s.kind === 'served' && s.receipt?.bytes).toBe(1000);
    expect(() => openUsageRecord({ kind: 'other', ...receipt })).toThrow(/kind 'other'/);
    expect(() => openUsageRecord({ kind: 'served', ...receipt })).toThrow();
    expect(() => openUsageRecord({ kind: 'receipt', body: new TextEncoder().encode('not json'), signature: receipt.signature })).toThrow(
      LayoutInvalidError,
    );
  });
});
