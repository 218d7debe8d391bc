/**
 * The contact point learns suspensions and revoked gateway approvals from a
 * REAL clearinghouse (ListSanctions), refuses those gateways with
 * PERMISSION_DENIED, serves again after reinstatement, and keeps what it
 * learnt across a restart even when the clearinghouse cannot be reached.
 * The contact point's own grid has no storage servers (its grid manager
 * address is dead): a gateway let through fails later, with UNAVAILABLE.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { issueCertificate, writeCertificateFile, writeKeyFile, type Identity } from '../../../libs/auth/index.js';
import { formatCap, toVerifyCap, type ReadCap } from '../../../libs/caps/index.js';
import { generateKeyPair, randomBytes, toHex } from '../../../libs/crypto/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../../libs/federation/index.js';
import type { ContactPointClient } from '../../../libs/rpc/proto-types.js';
import { initClearinghouse, loadClearinghouseAdmin, loadClearinghouseConfig, startClearinghouse, type RunningClearinghouse } from '../../../services/clearinghouse/index.js';
import { resolveContactPointConfig, startContactPoint, type ContactPointConfig, type RunningContactPoint } from '../../../services/contact-point/index.js';
import { contactPointClient, fetchSegments, submitReceipt } from './fixtures.js';

const HOME = '101';
const OTHER = '202';
const silent = pino({ level: 'silent' });
const read: ReadCap = { kind: 'read', readKey: randomBytes(32), uebHash: randomBytes(32), k: 3, n: 10, size: 10_000, areaCode: HOME };
const capText = formatCap(toVerifyCap(read));

let dir: string;
let ch: RunningClearinghouse;
let admin: ClearinghouseConnection;
let cpConfig: ContactPointConfig;
let cp: RunningContactPoint;
let gatewayB: Identity;
let gatewayC: Identity;
const clients: ContactPointClient[] = [];
let transfer = 0;

function client(identity: Identity): ContactPointClient {
  const c = contactPointClient(cp, identity);
  clients.push(c);
  return c;
}

const fetch = (identity: Identity) => fetchSegments(client(identity), { verifyCap: capText, transferId: `t-${++transfer}`, offset: 0, length: 0 });

async function approvedGateway(areaCode: string): Promise<Identity> {
  const keyPair = generateKeyPair();
  return { keyPair, certificates: [await admin.approveGateway({ areaCode, gatewayPublicKey: keyPair.publicKey })] };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cp-sanctions-'));
  const init = initClearinghouse(join(dir, 'clearinghouse'), { listen: '127.0.0.1:0' });
  ch = await startClearinghouse(loadClearinghouseConfig(init.configPath), { onInternal: () => undefined, logger: silent });
  admin = connectClearinghouse(ch.address, loadClearinghouseAdmin(init.adminIdentityPath).identity, { clearinghousePublicKey: ch.publicKey });
  const gm = generateKeyPair();
  await admin.admitGrid({ gridManagerPublicKey: gm.publicKey, name: 'home', areaCode: HOME });
  await admin.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'other', areaCode: OTHER });
  gatewayB = await approvedGateway(OTHER);
  gatewayC = await approvedGateway(OTHER);

  const key = generateKeyPair();
  writeKeyFile(join(dir, 'cp-key.json'), key);
  const now = Date.now();
  writeCertificateFile(
    join(dir, 'cp-cert.b64'),
    issueCertificate(gm, { role: 'contact-point', subject: key.publicKey, grid: HOME, notBefore: now - 60_000, notAfter: now + 3_600_000, limits: {} }),
  );
  cpConfig = resolveContactPointConfig({
    listen: '127.0.0.1:0',
    areaCode: HOME,
    dataDir: join(dir, 'cp'),
    keyFile: join(dir, 'cp-key.json'),
    certificateFile: join(dir, 'cp-cert.b64'),
    gridManager: { address: '127.0.0.1:1', publicKey: toHex(gm.publicKey) },
    clearinghouse: { address: ch.address, publicKey: toHex(ch.publicKey) },
    sanctionsPollMs: 100,
  });
  cp = await startContactPoint(cpConfig, { logger: silent });
  await vi.waitFor(() => expect(cp.sanctions.hasPolled).toBe(true), { timeout: 30_000 });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await cp?.stop();
  admin?.close();
  await ch?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('contact point sanctions', () => {
  it("lets an approved gateway of an active grid through (it fails later, at this grid's storage)", async () => {
    const got = await fetch(gatewayB);
    expect(got.error?.code).toBe(status.UNAVAILABLE);
  });

  it("refuses a suspended grid's gateway with PERMISSION_DENIED naming the grid, and serves it again after reinstatement", async () => {
    await admin.setGridSuspended(OTHER, true);
    await vi.waitFor(
      async () => {
        const got = await fetch(gatewayB);
        expect(got.error?.code).toBe(status.PERMISSION_DENIED);
        expect(got.error?.details).toMatch(/area code 202 is suspended/);
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(cp.sanctions.isGridSuspended(OTHER)).toBe(true);

    // A restart on the same database while the clearinghouse is unreachable: still refused.
    const seq = cp.sanctions.sinceSeq;
    expect(seq).toBeGreaterThan(0);
    await cp.stop();
    cp = await startContactPoint({ ...cpConfig, clearinghouse: { ...cpConfig.clearinghouse, address: '127.0.0.1:1' } }, { logger: silent });
    expect(cp.sanctions.hasPolled).toBe(false);
    expect(cp.sanctions.sinceSeq).toBe(seq);
    const refused = await fetch(gatewayB);
    expect(refused.error?.code).toBe(status.PERMISSION_DENIED);
    expect(refused.error?.details).toMatch(/area code 202 is suspended/);

    // Back on the clearinghouse, reinstated: served again.
    await cp.stop();
    cp = await startContactPoint(cpConfig, { logger: silent });
    await admin.setGridSuspended(OTHER, false);
    await vi.waitFor(async () => expect((await fetch(gatewayB)).error?.code).toBe(status.UNAVAILABLE), { timeout: 30_000, interval: 100 });
  });

  it('refuses a gateway whose approval the clearinghouse revoked, on every method, also after a restart', async () => {
    await admin.revokeGatewayApproval(gatewayC.keyPair.publicKey);
    await vi.waitFor(
      async () => {
        const got = await fetch(gatewayC);
        expect(got.error?.code).toBe(status.PERMISSION_DENIED);
        expect(got.error?.details).toMatch(/revoked/);
      },
      { timeout: 30_000, interval: 100 },
    );
    const err = await submitReceipt(client(gatewayC), new Uint8Array(10), new Uint8Array(64));
    expect(err?.code).toBe(status.PERMISSION_DENIED);
    // Another gateway of the same grid is untouched.
    expect((await fetch(gatewayB)).error?.code).toBe(status.UNAVAILABLE);

    await cp.stop();
    cp = await startContactPoint({ ...cpConfig, clearinghouse: { ...cpConfig.clearinghouse, address: '127.0.0.1:1' } }, { logger: silent });
    expect((await fetch(gatewayC)).error?.code).toBe(status.PERMISSION_DENIED);
  });

  it('the clearinghouse refuses to approve a revoked key again, and refuses its Resolve', async () => {
    await expect(admin.approveGateway({ areaCode: OTHER, gatewayPublicKey: gatewayC.keyPair.publicKey })).rejects.toThrow(/revoked/);
    const asGateway = connectClearinghouse(ch.address, gatewayC, { clearinghousePublicKey: ch.publicKey });
    try {
      await expect(asGateway.resolve(HOME)).rejects.toThrow(/revoked/);
    } finally {
      asGateway.close();
    }
  });
});
