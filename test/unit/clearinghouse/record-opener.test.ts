/**
 * record-opener: verification of reported records, with the receipt cache
 * that verifies each transfer's receipt once (not again when it comes back
 * embedded in the served record) — and never trusts a different copy.
 */
import { describe, it, expect } from 'vitest';
import { generateKeyPair } from '../../../libs/crypto/index.js';
import * as usage from '../../../libs/usage/index.js';
import { openRecord, ReceiptCache } from '../../../services/clearinghouse/record-opener.js';
import { keyOf, transferRecords, type TransferSpec } from './billing-fixture.js';

const spec = (over: Partial<TransferSpec> = {}): TransferSpec => ({
  transferId: 'x1',
  exporter: '101',
  importer: '102',
  gateway: generateKeyPair(),
  contactPoint: generateKeyPair(),
  bytes: 1234,
  priceUnitsPerGib: 10,
  priceAsOfMs: 1,
  atMs: 2,
  ...over,
});

describe('openRecord', () => {
  it('reduces both kinds to the facts the ledger needs; the embedded receipt hash equals the receipt record body hash', () => {
    const t = spec();
    const key = keyOf(t);
    const { served, receipt } = transferRecords(t);
    const r = openRecord(receipt);
    const s = openRecord(served);
    expect(r.ok && s.ok).toBe(true);
    if (!r.ok || !s.ok) return;
    expect(r.record).toMatchObject({ kind: 'receipt', recordId: `rcpt-${key}`, transferId: 'x1', transferKey: key, bytes: 1234, priceUnitsPerGib: 10, priceAsOfMs: 1 });
    expect(s.record).toMatchObject({ kind: 'served', recordId: `srv-${key}`, transferId: 'x1', transferKey: key, bytes: 1234, startedAtMs: 2, embedded: { bytes: 1234, priceAsOfMs: 1 } });
    expect(s.record.receiptSha256).toBe(r.record.receiptSha256);
  });

  it('never throws: an unknown kind or garbage is a message naming the record', () => {
    const t = spec();
    const { receipt } = transferRecords(t);
    expect(openRecord({ ...receipt, kind: 'bogus' })).toMatchObject({ ok: false, recordId: `rcpt-${keyOf(t)}` });
    expect(openRecord({ kind: 'served', body: new Uint8Array([1, 2]), signature: new Uint8Array(64) })).toMatchObject({ ok: false, recordId: '' });
  });

  it('verifies a receipt once when its served record brings the identical copy, and still catches a forged copy', () => {
    const t = spec();
    const { served, receipt } = transferRecords(t);
    const cache = new ReceiptCache(10);
    expect(openRecord(receipt, cache).ok).toBe(true);
    expect(openRecord(served, cache).ok).toBe(true);
    expect(cache.size).toBe(1);
    // The embedded copy is answered from the cache: the very object the first verification produced.
    const embedded = usage.embeddedReceipt(usage.openServedRecord(served).served)!;
    expect(cache.open(embedded)).toBe(cache.open(receipt));
    // A served record whose embedded receipt was re-signed by another key (not byte-identical) is verified and named.
    const rogue = transferRecords({ ...t, receiptSigner: generateKeyPair() }).served;
    expect(openRecord(rogue, cache)).toMatchObject({ ok: true });
    expect(cache.size).toBe(2);
    // Tampered embedded receipt: not in the cache, so verified, and it fails.
    const body = JSON.parse(Buffer.from(served.body).toString('utf8')) as { receipt: { body: string } };
    const rb = Buffer.from(body.receipt.body, 'base64').toString('utf8').replace('"bytes":1234', '"bytes":4321');
    expect(rb).toContain('4321');
    const forgedReceipt = { body: Buffer.from(rb), signature: Buffer.from((JSON.parse(Buffer.from(served.body).toString('utf8')) as { receipt: { signature: string } }).receipt.signature, 'base64') };
    expect(() => cache.open(forgedReceipt)).toThrow(/does not verify/);
  });

  it('evicts the oldest receipts past its bound', () => {
    const cache = new ReceiptCache(2);
    for (const id of ['a', 'b', 'c']) cache.open(transferRecords(spec({ transferId: id })).receipt);
    expect(cache.size).toBe(2);
  });
});
