/**
 * The contact point with a real clearinghouse: it registers (retrying until
 * the clearinghouse is up), a gateway of another admitted grid resolves the
 * area code to it and fetches through it with the gateway-approval
 * certificate the clearinghouse issued, a second contact point of the grid
 * is listed next to it, and stopping one deregisters only that one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../../libs/net/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { securedClient, writeCertificateFile, writeKeyFile, type Identity } from '../../libs/auth/index.js';
import { connectGrid, uploadFile } from '../../libs/client/index.js';
import { formatCap, toVerifyCap, type ReadCap } from '../../libs/caps/index.js';
import { bytesEqual, fromHex, generateKeyPair, toHex } from '../../libs/crypto/index.js';
import { decryptSegment, openUeb } from '../../libs/format/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../libs/federation/index.js';
import { contactPointProto } from '../../libs/rpc/index.js';
import type { ContactPointClient, SegmentChunk__Output } from '../../libs/rpc/proto-types.js';
import { initClearinghouse, loadClearinghouseAdmin, loadClearinghouseConfig, startClearinghouse, type RunningClearinghouse } from '../../services/clearinghouse/index.js';
import { CONTACT_POINT_MESSAGE_LIMIT, resolveContactPointConfig, startContactPoint, type RunningContactPoint } from '../../services/contact-point/index.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';

const SEG = 4096;
let grid: LocalGrid;
let chDir: string;
let ch: RunningClearinghouse | undefined;
let cp: RunningContactPoint | undefined;
let admin: ClearinghouseConnection;
let gateway: Identity;
let gatewayConn: ClearinghouseConnection;


async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let chAddress: string;
let chKey: string;
let second: RunningContactPoint | undefined;

/** A contact point of grid 101 with its own key and certificate. */
async function startOne(name: string): Promise<RunningContactPoint> {
  const dir = join(grid.dir, name);
  mkdirSync(dir, { recursive: true });
  const key = generateKeyPair();
  writeKeyFile(join(dir, 'key.json'), key);
  writeCertificateFile(join(dir, 'certificate.b64'), await grid.admin.approve({ role: 'contact-point', subject: key.publicKey, name }));
  return startContactPoint(
    resolveContactPointConfig({
      listen: '127.0.0.1:0',
      areaCode: '101',
      dataDir: dir,
      keyFile: join(dir, 'key.json'),
      certificateFile: join(dir, 'certificate.b64'),
      gridManager: { address: grid.gridManagerAddress, publicKey: grid.clientConfig.gridManager.publicKey },
      clearinghouse: { address: chAddress, publicKey: chKey },
      registerIntervalMs: 200,
    }),
    { logger: pino({ level: 'silent' }) },
  );
}

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 10, areaCode: '101' });
  chDir = mkdtempSync(join(tmpdir(), 'intergrid-ch-'));
  const port = await freePort();
  const init = initClearinghouse(chDir, { listen: `127.0.0.1:${port}` });

  // The contact point starts first: the clearinghouse is not up yet.
  chAddress = `127.0.0.1:${port}`;
  chKey = toHex(init.publicKey);
  cp = await startOne('cp-1');

  ch = await startClearinghouse(loadClearinghouseConfig(init.configPath), { onInternal: () => undefined });
  // The grid is not admitted yet, so registration is refused, but its answer shows the channel is up again
  // (channels to the same address share a connection that was backing off while nothing listened).
  await until('the clearinghouse to answer the contact point', () => !/No connection|UNAVAILABLE|connect/i.test(cp!.registration.lastError ?? 'No connection'));
  admin = connectClearinghouse(ch.address, loadClearinghouseAdmin(init.adminIdentityPath).identity, { clearinghousePublicKey: init.publicKey });
  await admin.admitGrid({ gridManagerPublicKey: fromHex(grid.clientConfig.gridManager.publicKey), name: 'grid-a', areaCode: '101' });
  await admin.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'grid-b', areaCode: '202' });
  const gwKey = generateKeyPair();
  gateway = { keyPair: gwKey, certificates: [await admin.approveGateway({ areaCode: '202', gatewayPublicKey: gwKey.publicKey })] };
  gatewayConn = connectClearinghouse(ch.address, gateway, { clearinghousePublicKey: init.publicKey });
});

afterAll(async () => {
  gatewayConn?.close();
  admin?.close();
  await cp?.stop();
  await second?.stop();
  await ch?.stop();
  await grid?.stop();
  rmSync(chDir, { recursive: true, force: true });
});

describe('contact point registration', () => {
  it('registers once the clearinghouse comes up, and a gateway resolves the area code to it', async () => {
    await until('registration', () => cp!.registration.lastSuccessMs !== undefined);
    const res = await gatewayConn.resolve('101');
    expect(res.contactPoints.map((c) => c.address)).toContain(cp!.address);
    const listed = res.contactPoints.find((c) => c.address === cp!.address)!;
    expect(bytesEqual(listed.publicKey, cp!.publicKey)).toBe(true);
  });

  it('serves a gateway holding the approval the clearinghouse issued, at the resolved address', async () => {
    const data = nodeRandomBytes(3 * SEG + 1);
    const path = join(grid.dir, 'file');
    writeFileSync(path, data);
    const conn = await connectGrid(grid.clientConfig);
    let read: ReadCap;
    try {
      read = (await uploadFile(conn, path, { encoding: { segmentSize: SEG } })).cap;
    } finally {
      conn.close();
    }
    const [target] = (await gatewayConn.resolve('101')).contactPoints;
    const Ctor = contactPointProto().intergrid.contactpoint.ContactPoint;
    const client = securedClient<ContactPointClient>(Ctor, target!, gateway, { channelOptions: { 'grpc.max_receive_message_length': CONTACT_POINT_MESSAGE_LIMIT } });
    try {
      const chunks = await new Promise<SegmentChunk__Output[]>((resolve, reject) => {
        const got: SegmentChunk__Output[] = [];
        const call = client.FetchSegments({ verifyCap: formatCap(toVerifyCap(read)), offset: 0, length: 0, transferId: 'via-resolution' });
        call.on('data', (c: SegmentChunk__Output) => got.push(c));
        call.on('error', reject);
        call.on('end', () => resolve(got));
      });
      openUeb(chunks[0]!.ueb!, toVerifyCap(read));
      const plain = Buffer.concat(chunks.slice(1).map((c) => Buffer.from(decryptSegment(read.readKey, Number(c.segment!.index), c.segment!.ciphertext))));
      expect(plain.equals(data)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('lists a second contact point of the same grid next to the first', async () => {
    second = await startOne('cp-2');
    await until('the second registration', () => second!.registration.lastSuccessMs !== undefined);
    const addresses = (await gatewayConn.resolve('101')).contactPoints.map((c) => c.address);
    expect(addresses).toContain(cp!.address);
    expect(addresses).toContain(second.address);
  });

  it('deregisters when stopped, leaving the other contact point listed', async () => {
    const gone = cp!.address;
    await cp!.stop();
    cp = undefined;
    const left = (await gatewayConn.resolve('101')).contactPoints.map((c) => c.address);
    expect(left).not.toContain(gone);
    expect(left).toContain(second!.address);
  });
});
