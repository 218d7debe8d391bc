/**
 * The storage server's link to a real grid manager (in-process, real
 * database): it announces itself into the signed directory, enforces
 * revocations it polls, and reports per-account usage. On SQLite and on
 * PostgreSQL, where the grid manager and the storage server share one database.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { generateKeyPair, toHex, bytesEqual } from '../../../libs/crypto/index.js';
import { writeKeyFile, writeCertificateFile, securedClient, type Identity } from '../../../libs/auth/index.js';
import { storageProto } from '../../../libs/rpc/index.js';
import type { StorageClient } from '../../../libs/rpc/proto-types.js';
import {
  initGridManager,
  loadGridManagerConfig,
  startGridManager,
  loadAdminIdentity,
  type RunningGridManager,
} from '../../../services/grid-manager/index.js';
import { connectGridManager, type GridManagerConnection } from '../../../libs/grid/index.js';
import { startStorageServer, resolveStorageConfig, type RunningStorageServer, type StorageConfig } from '../../../services/storage/index.js';
import { StoragePeerForTests, patternBytes, storageIndex } from './storage-fixture.js';
import { databaseBackends, setConfigDatabase, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

const silent = pino({ level: 'silent' });
let dir: string;
let gm: RunningGridManager;
let admin: GridManagerConnection;
let storage: RunningStorageServer;
let storageConfig: StorageConfig;
const clients: StoragePeerForTests[] = [];

async function approvedClient(name: string): Promise<{ identity: Identity; peer: StoragePeerForTests }> {
  const keyPair = generateKeyPair();
  const cert = await admin.approve({ role: 'client', subject: keyPair.publicKey, name });
  const identity = { keyPair, certificates: [cert] };
  const Ctor = storageProto().intergrid.storage.Storage;
  const peer = new StoragePeerForTests(securedClient<StorageClient>(Ctor, storage, identity));
  clients.push(peer);
  return { identity, peer };
}

for (const backend of databaseBackends('storage-gridlink')) describe(`grid link on ${backend.name}`, () => {
  beforeAll(async () => {
    await backend.setup();
    dir = mkdtempSync(join(tmpdir(), 'intergrid-gridlink-'));
    const init = initGridManager(join(dir, 'gm'), { areaCode: '101', listen: '127.0.0.1:0' });
    // On PostgreSQL both services share one database (one migrations table each).
    const gmDatabase = await backend.fresh();
    setConfigDatabase(init.configPath, gmDatabase);
    gm = await startGridManager(loadGridManagerConfig(init.configPath), { onInternal: () => undefined });
    const adminId = loadAdminIdentity(init.adminIdentityPath);
    admin = connectGridManager(gm.address, adminId.identity, { gridManagerPublicKey: adminId.gridManager.publicKey });
    const sDir = join(dir, 'storage');
    mkdirSync(sDir, { recursive: true });
    const key = generateKeyPair();
    writeKeyFile(join(sDir, 'key.json'), key);
    writeCertificateFile(join(sDir, 'certificate.b64'), await admin.approve({ role: 'storage-server', subject: key.publicKey, name: 'storage-01' }));
    storageConfig = resolveStorageConfig({
        name: 'storage-01',
        listen: '127.0.0.1:0',
        dataDir: join(sDir, 'data'),
        keyFile: join(sDir, 'key.json'),
        certificateFile: join(sDir, 'certificate.b64'),
        gridManager: { address: gm.address, publicKey: toHex(adminId.gridManager.publicKey) },
        revocationPollMs: 100,
        usageReportIntervalMs: 100,
        database: backend.name === 'PostgreSQL' ? gmDatabase : await backend.fresh(),
      });
    storage = await startStorageServer(storageConfig, { logger: silent });
  }, BACKEND_SETUP_MS);

  afterAll(async () => {
    for (const c of clients.splice(0)) c.raw.close();
    await storage?.stop();
    admin?.close();
    await gm?.stop();
    rmSync(dir, { recursive: true, force: true });
    await backend.teardown();
  });

  it('announces the bound address into the signed directory', async () => {
    await vi.waitFor(async () => {
      const d = await admin.getDirectory();
      expect(d.servers.map((s) => s.address)).toContain(storage.address);
    }, { timeout: 20_000, interval: 100 });
  });

  it('reports per-account usage to the grid manager', async () => {
    const { identity, peer } = await approvedClient('alice');
    const si = storageIndex(1);
    await peer.allocate(si, [0, 1], 1234);
    await peer.write(si, 0, patternBytes(1234));
    await peer.write(si, 1, patternBytes(1234, 3));
    await vi.waitFor(async () => {
      const usage = await admin.getUsage();
      const mine = usage.find((u) => bytesEqual(u.account, identity.keyPair.publicKey));
      expect(mine).toMatchObject({ bytesStored: 2468, shares: 2 });
    }, { timeout: 20_000, interval: 100 });
  });

  it('refuses a client once the grid manager has revoked it', async () => {
    const { identity, peer } = await approvedClient('mallory');
    expect((await peer.list(storageIndex(2))).shares).toEqual([]);
    await admin.revoke(identity.keyPair.publicKey);
    await vi.waitFor(async () => {
      await expect(peer.list(storageIndex(2))).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    }, { timeout: 20_000, interval: 100 });
  });

  it('still refuses a revoked client after a restart on the same database, with the grid manager unreachable', async () => {
    const { identity } = await approvedClient('trudy');
    await admin.revoke(identity.keyPair.publicKey);
    await vi.waitFor(() => expect(storage.gridLink.isRevoked(identity.keyPair.publicKey)).toBe(true), { timeout: 20_000, interval: 100 });
    const honest = await approvedClient('walter');
    for (const c of clients.splice(0)) c.raw.close();
    await storage.stop();
    // Same database; nothing listens on port 1, so nothing can be learnt from the grid manager again.
    storage = await startStorageServer({ ...storageConfig, listen: '127.0.0.1:0', gridManager: { ...storageConfig.gridManager, address: '127.0.0.1:1' } }, { logger: silent });
    expect(storage.gridLink.hasRevocations).toBe(false);
    const Ctor = storageProto().intergrid.storage.Storage;
    const peer = (id: Identity) => {
      const p = new StoragePeerForTests(securedClient<StorageClient>(Ctor, storage, id));
      clients.push(p);
      return p;
    };
    await expect(peer(identity).list(storageIndex(3))).rejects.toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringMatching(/revoked/) });
    expect((await peer(honest.identity).list(storageIndex(3))).shares).toEqual([]);
  });
});
