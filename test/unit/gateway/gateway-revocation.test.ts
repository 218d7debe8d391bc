/**
 * The gateway against its REAL grid manager: clients certified by it are
 * served, and a client the admin revokes is refused on its next call (the
 * gateway polls ListRevocations with its 'gateway' certificate).
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import { join } from 'node:path';
import { writeCertificateFile, type Identity } from '../../../libs/auth/index.js';
import { formatCap } from '../../../libs/caps/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { connectGridManager, type GridManagerConnection } from '../../../libs/grid/index.js';
import { initGridManager, loadAdminIdentity, loadGridManagerConfig, startGridManager, type RunningGridManager } from '../../../services/grid-manager/index.js';
import { startGateway, type GatewayConfig, type RunningGateway } from '../../../services/gateway/index.js';
import {
  gatewayTestConfig,
  QUIET,
  HOME_AREA,
  cert,
  fetchRaw,
  makeFile,
  makePrincipals,
  startFakeClearinghouse,
  startFakeContactPoint,
  type FakeClearinghouse,
  type FakeContactPoint,
  type Principals,
  type TestFile,
} from './fixtures.js';

let p: Principals;
let gm: RunningGridManager;
let admin: GridManagerConnection;
let ch: FakeClearinghouse;
let contactPoint: FakeContactPoint;
let gw: RunningGateway;
let gwConfig: GatewayConfig;
let file: TestFile;

async function client(name: string): Promise<Identity> {
  const key = generateKeyPair();
  const c = await admin.approve({ role: 'client', subject: key.publicKey, name });
  return { keyPair: key, certificates: [c] };
}

beforeAll(async () => {
  p = makePrincipals();
  file = makeFile(2000, 1024);
  const init = initGridManager(join(p.dir, 'grid-manager'), { areaCode: HOME_AREA, listen: '127.0.0.1:0' });
  gm = await startGridManager(loadGridManagerConfig(init.configPath), { onInternal: () => undefined });
  const adminId = loadAdminIdentity(init.adminIdentityPath);
  admin = connectGridManager(gm.address, adminId.identity, { gridManagerPublicKey: gm.publicKey });

  // The gateway's certificate from this grid manager, and an approval from the (fake) clearinghouse.
  const gatewayCert = await admin.approve({ role: 'gateway', subject: p.gateway.publicKey, name: 'gateway' });
  writeCertificateFile(join(p.dir, 'gm-gateway.cert'), gatewayCert);
  writeCertificateFile(join(p.dir, 'approval.cert'), cert(p.ch, p.gateway, 'gateway-approval', HOME_AREA));

  ch = await startFakeClearinghouse(p.ch);
  contactPoint = await startFakeContactPoint(p.ch.publicKey, [file]);
  ch.areas.set('202', { price: 1, contactPoints: [{ address: contactPoint.address, publicKey: contactPoint.key.publicKey }] });

  gwConfig = gatewayTestConfig(p, { address: ch.address, publicKey: p.ch.publicKey }, {
    certificateFiles: [join(p.dir, 'gm-gateway.cert'), join(p.dir, 'approval.cert')],
    gridManager: { address: gm.address, publicKey: toHex(gm.publicKey) },
    priceCeilingUnitsPerGib: 10,
    revocationPollMs: 100,
  });
  gw = await startGateway(gwConfig);
  await vi.waitFor(() => expect(gw.revocationsLoaded()).toBe(true), { timeout: 10_000 });
});

afterAll(async () => {
  await gw?.stop();
  admin?.close();
  await contactPoint?.stop();
  await ch?.stop();
  await gm?.stop();
  p?.cleanup();
});

describe('gateway and its grid manager', () => {
  it('serves a client certified by its grid manager', async () => {
    const alice = await client('alice');
    const got = await fetchRaw(gw, alice, formatCap(file.verifyCap('202')));
    expect(got.error).toBeUndefined();
    expect(got.segments).toHaveLength(2);
  });

  it('refuses a client once its grid manager revoked it, with PERMISSION_DENIED', async () => {
    const bob = await client('bob');
    expect((await fetchRaw(gw, bob, formatCap(file.verifyCap('202')))).error).toBeUndefined();
    await admin.revoke(bob.keyPair.publicKey);
    await vi.waitFor(
      async () => {
        const got = await fetchRaw(gw, bob, formatCap(file.verifyCap('202')));
        expect(got.error?.code).toBe(status.PERMISSION_DENIED);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('still refuses a revoked client after a restart on the same database, with its grid manager unreachable', async () => {
    const carol = await client('carol');
    const dave = await client('dave');
    await admin.revoke(carol.keyPair.publicKey);
    await vi.waitFor(
      async () => expect((await fetchRaw(gw, carol, formatCap(file.verifyCap('202')))).error?.code).toBe(status.PERMISSION_DENIED),
      { timeout: 10_000, interval: 100 },
    );
    await gw.stop();
    // Same SQLite file; the grid manager cannot be asked again (nothing listens on port 1).
    gw = await startGateway({ ...gwConfig, gridManager: { ...gwConfig.gridManager, address: '127.0.0.1:1' } }, QUIET);
    expect(gw.revocationsLoaded()).toBe(false);
    const refused = await fetchRaw(gw, carol, formatCap(file.verifyCap('202')));
    expect(refused.error?.code).toBe(status.PERMISSION_DENIED);
    expect(refused.error?.details).toMatch(/revoked/);
    expect((await fetchRaw(gw, dave, formatCap(file.verifyCap('202')))).error).toBeUndefined();
  });
});
