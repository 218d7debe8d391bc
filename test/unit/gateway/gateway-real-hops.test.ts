/**
 * The gateway with every hop real: a remote grid (grid manager + storage
 * servers, test/e2e/fixtures/local-grid.ts) holding a file uploaded with
 * libs/client, its REAL contact point registered at the REAL clearinghouse,
 * and this grid's gateway fetching from it. Proves the three services agree
 * on the wire (offsets, lengths, chunk order, proofs, certificates). Runs on
 * SQLite and PostgreSQL (test/fixtures/database-backends.ts): the gateway,
 * contact point and clearinghouse each on a fresh database of the backend.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { writeCertificateFile, writeKeyFile } from '../../../libs/auth/index.js';
import { formatCap, toVerifyCap, withAreaCode, type ReadCap } from '../../../libs/caps/index.js';
import { connectGrid, uploadFile } from '../../../libs/client/index.js';
import { bytesEqual, generateKeyPair, randomBytes, toHex } from '../../../libs/crypto/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../../libs/federation/index.js';
import { planFile } from '../../../libs/format/index.js';
import { initClearinghouse, loadClearinghouseAdmin, loadClearinghouseConfig, startClearinghouse, type RunningClearinghouse } from '../../../services/clearinghouse/index.js';
import { resolveContactPointConfig, startContactPoint, type RunningContactPoint } from '../../../services/contact-point/index.js';
import { loadAdminIdentity } from '../../../services/grid-manager/index.js';
import { startGateway, type RunningGateway } from '../../../services/gateway/index.js';
import { startLocalGrid, type LocalGrid } from '../../e2e/fixtures/local-grid.js';
import { BACKEND_SETUP_MS, databaseBackends, setConfigDatabase } from '../../fixtures/database-backends.js';
import { gatewayTestConfig, HOME_AREA, fetchRaw, makePrincipals, plaintextOf, type Principals, type TestFile, QUIET } from './fixtures.js';

const REMOTE = '202';
const SEG = 4096;

for (const backend of databaseBackends('gw-real-hops')) describe(`on ${backend.name}`, () => {
  let p: Principals;
  let remote: LocalGrid;
  let ch: RunningClearinghouse;
  let admin: ClearinghouseConnection;
  let contactPoint: RunningContactPoint;
  let gw: RunningGateway;
  let file: TestFile;

  beforeAll(() => backend.setup(), BACKEND_SETUP_MS);

  beforeAll(async () => {
    p = makePrincipals();
    remote = await startLocalGrid({ servers: 4, areaCode: REMOTE, encoding: { k: 2, n: 4, happy: 3, segmentSize: SEG } });
    const remoteGm = loadAdminIdentity(remote.adminIdentityPath).gridManager.publicKey;

    const { configPath } = initClearinghouse(join(p.dir, 'clearinghouse'), { listen: '127.0.0.1:0' });
    setConfigDatabase(configPath, await backend.fresh());
    ch = await startClearinghouse(loadClearinghouseConfig(configPath), { onInternal: () => {} });
    admin = connectClearinghouse(ch.address, loadClearinghouseAdmin(join(p.dir, 'clearinghouse', 'admin.json')).identity, { clearinghousePublicKey: ch.publicKey });
    await admin.admitGrid({ gridManagerPublicKey: p.gm.publicKey, name: 'home', areaCode: HOME_AREA });
    await admin.admitGrid({ gridManagerPublicKey: remoteGm, name: 'remote', areaCode: REMOTE, priceUnitsPerGib: 3 });

    // The remote grid's contact point, certified by its grid manager.
    const cpKey = generateKeyPair();
    const cpCert = await remote.admin.approve({ role: 'contact-point', subject: cpKey.publicKey, name: 'contact-point-1' });
    writeKeyFile(join(p.dir, 'cp-key.json'), cpKey);
    writeCertificateFile(join(p.dir, 'cp.cert'), cpCert);
    contactPoint = await startContactPoint(
      resolveContactPointConfig({
        listen: '127.0.0.1:0',
        areaCode: REMOTE,
        dataDir: join(p.dir, 'contact-point'),
        database: await backend.fresh(),
        keyFile: join(p.dir, 'cp-key.json'),
        certificateFile: join(p.dir, 'cp.cert'),
        gridManager: { address: remote.gridManagerAddress, publicKey: toHex(remoteGm) },
        clearinghouse: { address: ch.address, publicKey: toHex(ch.publicKey) },
      }),
      { logger: pino({ level: 'silent' }) },
    );
    // Registration runs in the background: wait until the clearinghouse lists it.
    for (let i = 0; ; i++) {
      const grids = await admin.listGrids();
      if ((grids.find((g) => g.areaCode === REMOTE)?.contactPoints ?? 0) > 0) break;
      if (i > 200) throw new Error('contact point never registered');
      await new Promise((r) => setTimeout(r, 50));
    }

    // A file uploaded in the remote grid by its own client.
    const plaintext = randomBytes(3 * SEG + 123);
    const path = join(p.dir, 'upload.bin');
    writeFileSync(path, plaintext);
    const conn = await connectGrid(remote.clientConfig);
    let readCap: ReadCap;
    try {
      readCap = (await uploadFile(conn, path)).cap;
    } finally {
      conn.close();
    }
    file = {
      plaintext,
      layout: planFile(plaintext.length, { k: 2, n: 4, segmentSize: SEG }),
      shares: [],
      readCap,
      verifyCap: (area) => withAreaCode(toVerifyCap(readCap), area),
    };

    const approval = await admin.approveGateway({ areaCode: HOME_AREA, gatewayPublicKey: p.gateway.publicKey });
    writeCertificateFile(join(p.dir, 'real-approval.cert'), approval);
    gw = await startGateway(
      gatewayTestConfig(p, ch, {
        certificateFiles: [p.gatewayCertFiles[0]!, join(p.dir, 'real-approval.cert')],
        priceCeilingUnitsPerGib: 10,
        contactPointTimeoutMs: 10_000,
        database: await backend.fresh(),
      }),
      QUIET,
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await contactPoint?.stop();
    admin?.close();
    await ch?.stop();
    await remote?.stop();
    p?.cleanup();
    await backend.teardown();
  });

  describe('gateway → real clearinghouse → real contact point → real storage servers', () => {
    it('returns the whole file, which decrypts to the exact bytes uploaded in the remote grid', async () => {
      const got = await fetchRaw(gw, p.client, formatCap(file.verifyCap(REMOTE)));
      expect(got.error).toBeUndefined();
      expect(got.uebs).toHaveLength(1);
      expect(got.segments.map((s) => s.index)).toEqual([0, 1, 2, 3]);
      expect(bytesEqual(plaintextOf(file, got, 0, file.plaintext.length), file.plaintext)).toBe(true);
    });

    it('returns a range starting at a segment boundary with exact bytes', async () => {
      const got = await fetchRaw(gw, p.client, formatCap(file.verifyCap(REMOTE)), SEG, SEG + 1);
      expect(got.error).toBeUndefined();
      expect(got.segments.map((s) => s.index)).toEqual([1, 2]);
      expect(bytesEqual(plaintextOf(file, got, SEG, SEG + 1), file.plaintext.subarray(SEG, 2 * SEG + 1))).toBe(true);
    });

    it('meters exactly the ciphertext bytes the client received at the remote grid’s price', async () => {
      const client = p.otherClient;
      const got = await fetchRaw(gw, client, formatCap(file.verifyCap(REMOTE)), 2 * SEG, 0);
      const received = got.segments.reduce((n, s) => n + s.ciphertext.length, 0);
      const line = (await gw.usage()).find((l) => bytesEqual(l.client, client.keyPair.publicKey) && l.remoteAreaCode === REMOTE);
      expect(line).toMatchObject({ verifiedBytes: received, transfers: 1, priceUnitsPerGib: 3 });
      expect(received).toBe(file.plaintext.length - 2 * SEG);
    });
  });
});
