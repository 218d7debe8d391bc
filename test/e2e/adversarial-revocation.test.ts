/**
 * Adversarial: a suspended grid's gateway (issue 11 item 8), on a real
 * federation (test/e2e/fixtures/federation.ts) with the built CLI. Grid B's
 * gateway caches resolutions, so after the clearinghouse operator suspends
 * B it still knows A's contact points and goes straight to them, as a
 * gateway ignoring the clearinghouse would: A's contact points, which learnt
 * the suspension from the clearinghouse (ListSanctions), must refuse it with
 * PERMISSION_DENIED naming grid B, and nothing is billed. After
 * reinstatement the same get works again and is billed. Then the operator
 * revokes the gateway's approval with the CLI: refused again, for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from '../../libs/crypto/index.js';
import { connectLedger, type LedgerConnection, type LedgerSnapshotInfo } from '../../libs/federation/index.js';
import { toHex } from '../../libs/crypto/index.js';
import { CLEARINGHOUSE_ADMIN_FILE } from '../../services/clearinghouse/index.js';
import { runBuiltCli } from './fixtures/built-cli.js';
import { startFederation, type Federation } from './fixtures/federation.js';

const A = '101';
const B = '102';

let fed: Federation;
let ledger: LedgerConnection;
let cap: string;
const data = Buffer.from(randomBytes(50_000));

async function settled(): Promise<LedgerSnapshotInfo> {
  await fed.drainOutboxes();
  await expect.poll(async () => (await ledger.getLedger()).pendingRecords, { timeout: 30_000 }).toBe(0);
  return ledger.getLedger();
}

const billedAB = (s: LedgerSnapshotInfo) => s.pairs.find((p) => p.exporter === A && p.importer === B) ?? { bytes: 0, transfers: 0, units: 0 };
const contactPointsOfA = () => fed.grid(A).contactPoints.map((c) => c.running!);
/** Bytes A's contact points served to anyone so far (their own meter). */
const servedByA = async () => (await Promise.all(contactPointsOfA().map((c) => c.store.byGateway()))).flat().reduce((n, g) => n + g.bytes, 0);

beforeAll(async () => {
  fed = await startFederation({ grids: 2, resolutionCacheMs: 10 * 60_000, sanctionsPollMs: 100, pumpTiming: { pollMs: 50, minBackoffMs: 50, maxBackoffMs: 200 } });
  ledger = connectLedger(fed.clearinghouse.address, fed.adminIdentity);
  const path = join(fed.dir, 'in.bin');
  writeFileSync(path, data);
  const put = await runBuiltCli(['put', path, '--config', fed.grid(A).clientConfigPath]);
  expect(put.code, put.stderr).toBe(0);
  cap = put.stdout.trim();
}, 180_000);

afterAll(async () => {
  ledger?.close();
  await fed?.stop();
});

describe('a suspended grid’s gateway', () => {
  it('is refused by the contact points, with a PERMISSION_DENIED CLI error naming the grid; nothing is billed; reinstated, it is served again', async () => {
    let n = 0;
    const get = async () => {
      const out = join(fed.dir, `out-${++n}.bin`);
      return { out, ...(await runBuiltCli(['get', cap, '--config', fed.grid(B).clientConfigPath, '-o', out])) };
    };
    const first = await get();
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(first.out).equals(data)).toBe(true);
    const before = await settled();
    expect(billedAB(before).bytes).toBeGreaterThan(0);
    const servedBefore = await servedByA();

    await fed.admin.setGridSuspended(B, true);
    await expect.poll(() => contactPointsOfA().every((c) => c.sanctions.isGridSuspended(B)), { timeout: 30_000 }).toBe(true);

    // B's gateway still holds A's resolution (cached), so only the contact points can stop it.
    const refused = await get();
    expect(refused.code).toBe(1);
    expect(existsSync(refused.out)).toBe(false);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^intergrid: /);
    expect(refused.stderr).toMatch(/refused this gateway/);
    expect(refused.stderr).toMatch(/area code 102 is suspended by the clearinghouse/);

    const during = await settled();
    expect(billedAB(during)).toEqual(billedAB(before));
    expect(during.openDisputes).toBe(before.openDisputes);
    expect(await servedByA()).toBe(servedBefore);

    await fed.admin.setGridSuspended(B, false);
    await expect.poll(() => contactPointsOfA().every((c) => !c.sanctions.isGridSuspended(B)), { timeout: 30_000 }).toBe(true);
    const again = await get();
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(again.out).equals(data)).toBe(true);
    const after = await settled();
    expect(billedAB(after).bytes).toBeGreaterThan(billedAB(before).bytes);
    expect(billedAB(after).transfers).toBe(billedAB(before).transfers + 1);
  }, 120_000);

  it("is refused for good once the operator revokes its approval (intergrid clearinghouse revoke-gateway); nothing is billed", async () => {
    const before = await settled();
    const servedBefore = await servedByA();
    const gatewayKey = toHex(fed.grid(B).gatewayIdentity.keyPair.publicKey);
    const revoke = await runBuiltCli([
      'clearinghouse', 'revoke-gateway',
      '--admin', join(fed.dir, 'clearinghouse', CLEARINGHOUSE_ADMIN_FILE),
      '--clearinghouse', fed.clearinghouse.address,
      '--key', gatewayKey,
    ]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toBe(`revoked gateway ${gatewayKey}\n`);
    await expect.poll(() => contactPointsOfA().every((c) => c.sanctions.isGatewayRevoked(fed.grid(B).gatewayIdentity.keyPair.publicKey)), { timeout: 30_000 }).toBe(true);

    const out = join(fed.dir, 'out-revoked.bin');
    const refused = await runBuiltCli(['get', cap, '--config', fed.grid(B).clientConfigPath, '-o', out]);
    expect(refused.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(refused.stderr).toMatch(/^intergrid: .*refused this gateway.*has been revoked/);
    const after = await settled();
    expect(billedAB(after)).toEqual(billedAB(before));
    expect(await servedByA()).toBe(servedBefore);
  }, 120_000);
});
