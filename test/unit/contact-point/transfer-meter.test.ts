import { describe, expect, it } from 'vitest';
import { TransferMeter } from '../../../services/contact-point/index.js';
import { generateKeyPair, randomBytes, toHex } from '../../../libs/crypto/index.js';

const si = randomBytes(16);

describe('TransferMeter', () => {
  it('counts bytes and segments per transfer and per gateway', () => {
    const m = new TransferMeter();
    const gw = generateKeyPair().publicKey;
    const a = m.begin({ transferId: 'a', gateway: gw, gatewayGrid: '202', storageIndex: si });
    m.count(a, 100);
    m.count(a, 50);
    m.end(a, 'done');
    const b = m.begin({ transferId: 'b', gateway: gw, gatewayGrid: '202', storageIndex: si });
    m.count(b, 7);
    expect(m.transfer('a')).toMatchObject({ bytes: 150, segments: 2, state: 'done', storageIndex: toHex(si) });
    expect(m.transfer('b')).toMatchObject({ bytes: 7, state: 'open' });
    expect(m.byGateway()).toEqual([{ gateway: toHex(gw), gatewayGrid: '202', bytes: 157, segments: 3, transfers: 2 }]);
    expect(m.totalBytes()).toBe(157);
  });

  it('keeps the same transfer id of two gateways apart', () => {
    const m = new TransferMeter();
    const g1 = generateKeyPair().publicKey;
    const g2 = generateKeyPair().publicKey;
    m.count(m.begin({ transferId: 'same', gateway: g1, gatewayGrid: '202', storageIndex: si }), 10);
    m.count(m.begin({ transferId: 'same', gateway: g2, gatewayGrid: '303', storageIndex: si }), 20);
    expect(m.transfer('same', toHex(g1))?.bytes).toBe(10);
    expect(m.transfer('same', toHex(g2))?.bytes).toBe(20);
  });

  it('adds a retry with the same id to the same record', () => {
    const m = new TransferMeter();
    const gw = generateKeyPair().publicKey;
    const r1 = m.begin({ transferId: 'r', gateway: gw, gatewayGrid: '202', storageIndex: si });
    m.count(r1, 10);
    m.end(r1, 'failed');
    const r2 = m.begin({ transferId: 'r', gateway: gw, gatewayGrid: '202', storageIndex: si });
    m.count(r2, 5);
    m.end(r2, 'done');
    expect(m.transfer('r')).toMatchObject({ bytes: 15, state: 'done' });
    expect(m.listTransfers()).toHaveLength(1);
  });

  it('forgets the oldest finished transfers beyond its bound but keeps open ones and gateway totals', () => {
    const m = new TransferMeter(2);
    const gw = generateKeyPair().publicKey;
    const open = m.begin({ transferId: 'open', gateway: gw, gatewayGrid: '202', storageIndex: si });
    for (const id of ['x', 'y', 'z']) {
      const r = m.begin({ transferId: id, gateway: gw, gatewayGrid: '202', storageIndex: si });
      m.count(r, 1);
      m.end(r, 'done');
    }
    m.count(open, 1);
    const ids = m.listTransfers().map((r) => r.transferId);
    expect(ids).toContain('open');
    expect(ids).toContain('z');
    expect(ids).not.toContain('x');
    expect(m.byGateway()[0]).toMatchObject({ bytes: 4, transfers: 4 });
  });

  it('hands out copies, not its own records', () => {
    const m = new TransferMeter();
    const r = m.begin({ transferId: 'c', gateway: generateKeyPair().publicKey, gatewayGrid: '202', storageIndex: si });
    m.count(r, 3);
    const copy = m.transfer('c')!;
    copy.bytes = 999;
    expect(m.transfer('c')!.bytes).toBe(3);
  });
});
