/**
 * The gateway against the REAL clearinghouse (services/clearinghouse):
 * admission, gateway approval, contact-point registration, prices and
 * suspension as the clearinghouse publishes them. Contact points are still
 * fakes serving stored shares (fixtures.ts), registered with contact-point
 * certificates from the remote grid's manager.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { status } from '@grpc/grpc-js';
import { join } from 'node:path';
import { writeCertificateFile } from '../../../libs/auth/index.js';
import { formatCap } from '../../../libs/caps/index.js';
import { bytesEqual, generateKeyPair, type KeyPair } from '../../../libs/crypto/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../../libs/federation/index.js';
import {
  initClearinghouse,
  loadClearinghouseAdmin,
  loadClearinghouseConfig,
  startClearinghouse,
  type RunningClearinghouse,
} from '../../../services/clearinghouse/index.js';
import { startGateway, type RunningGateway } from '../../../services/gateway/index.js';
import { gatewayTestConfig, HOME_AREA, cert, fetchRaw, makeFile, makePrincipals, plaintextOf, startFakeContactPoint, type FakeContactPoint, type Principals, type TestFile, QUIET } from './fixtures.js';

const REMOTE = '202';
const CEILING = 50;

let p: Principals;
let ch: RunningClearinghouse;
let admin: ClearinghouseConnection;
let gw: RunningGateway;
let file: TestFile;
const cps: FakeContactPoint[] = [];
const conns: ClearinghouseConnection[] = [];

/** A fake contact point of `grid`, registered at the clearinghouse with a certificate from `gm`. */
async function registeredContactPoint(gm: KeyPair, grid: string): Promise<FakeContactPoint> {
  const c = await startFakeContactPoint(ch.publicKey, [file]);
  cps.push(c);
  const conn = connectClearinghouse(ch.address, { keyPair: c.key, certificates: [cert(gm, c.key, 'contact-point', grid)] }, { clearinghousePublicKey: ch.publicKey });
  conns.push(conn);
  await conn.registerContactPoint(c.address);
  return c;
}

beforeAll(async () => {
  p = makePrincipals();
  file = makeFile(3 * 1024 + 100, 1024);
  const { configPath } = initClearinghouse(join(p.dir, 'clearinghouse'), { listen: '127.0.0.1:0' });
  ch = await startClearinghouse(loadClearinghouseConfig(configPath), { onInternal: () => {} });
  const adminId = loadClearinghouseAdmin(join(p.dir, 'clearinghouse', 'admin.json'));
  admin = connectClearinghouse(ch.address, adminId.identity, { clearinghousePublicKey: ch.publicKey });
  conns.push(admin);

  await admin.admitGrid({ gridManagerPublicKey: p.gm.publicKey, name: 'home', areaCode: HOME_AREA });
  const remoteGm = generateKeyPair();
  await admin.admitGrid({ gridManagerPublicKey: remoteGm.publicKey, name: 'remote', areaCode: REMOTE, priceUnitsPerGib: 10 });
  await registeredContactPoint(remoteGm, REMOTE);

  // The gateway presents the approval the real clearinghouse issued.
  const approval = await admin.approveGateway({ areaCode: HOME_AREA, gatewayPublicKey: p.gateway.publicKey });
  const approvalFile = join(p.dir, 'real-approval.cert');
  writeCertificateFile(approvalFile, approval);
  gw = await startGateway(
    gatewayTestConfig(p, ch, {
      certificateFiles: [p.gatewayCertFiles[0]!, approvalFile],
      priceCeilingUnitsPerGib: CEILING,
      resolutionCacheMs: 0,
      contactPointTimeoutMs: 2000,
    }),
    QUIET,
  );
});

afterAll(async () => {
  await gw?.stop();
  for (const c of conns) c.close();
  await Promise.all(cps.map((c) => c.stop()));
  await ch?.stop();
  p?.cleanup();
});

describe('gateway with the real clearinghouse', () => {
  it('fetches exact bytes from a contact point the clearinghouse resolved, and meters them at the published price', async () => {
    const got = await fetchRaw(gw, p.client, formatCap(file.verifyCap(REMOTE)));
    expect(got.error).toBeUndefined();
    expect(bytesEqual(plaintextOf(file, got, 0, file.plaintext.length), file.plaintext)).toBe(true);
    const line = (await gw.usage()).find((l) => bytesEqual(l.client, p.client.keyPair.publicKey) && l.remoteAreaCode === REMOTE);
    expect(line).toMatchObject({ verifiedBytes: file.plaintext.length, priceUnitsPerGib: 10 });
  });

  it('answers NOT_FOUND for an area code the clearinghouse never admitted', async () => {
    const got = await fetchRaw(gw, p.client, formatCap(file.verifyCap('777')));
    expect(got.error?.code).toBe(status.NOT_FOUND);
    expect(got.error?.details).toContain('777');
  });

  it('refuses, before any contact point is called, a grid whose published price rose above the ceiling', async () => {
    const grid = generateKeyPair();
    await admin.admitGrid({ gridManagerPublicKey: grid.publicKey, name: 'dear', areaCode: '303', priceUnitsPerGib: 1 });
    const c = await registeredContactPoint(grid, '303');
    await admin.setPrice('303', CEILING + 1);
    const got = await fetchRaw(gw, p.client, formatCap(file.verifyCap('303')));
    expect(got.error?.code).toBe(status.FAILED_PRECONDITION);
    expect(got.error?.details).toContain(`${CEILING + 1} units/GiB`);
    expect(c.requests).toHaveLength(0);
  });

  it('passes a suspended grid through as FAILED_PRECONDITION naming the area code', async () => {
    const grid = generateKeyPair();
    await admin.admitGrid({ gridManagerPublicKey: grid.publicKey, name: 'paused', areaCode: '404', priceUnitsPerGib: 1 });
    await registeredContactPoint(grid, '404');
    await admin.setGridSuspended('404', true);
    const got = await fetchRaw(gw, p.client, formatCap(file.verifyCap('404')));
    expect(got.error?.code).toBe(status.FAILED_PRECONDITION);
    expect(got.error?.details).toContain('404');
  });
});
