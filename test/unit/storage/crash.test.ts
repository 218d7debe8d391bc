/**
 * Crash safety: the server process is SIGKILLed while several uploads are in
 * flight. After a restart on the same dirs every acknowledged share is listed
 * and reads back exactly, and every listed share is complete (no half-written
 * share is ever served). On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { writeJsonAtomic } from '../../../libs/config/index.js';
import { writeKeyFile, writeCertificateFile, securedClient, issueCertificate } from '../../../libs/auth/index.js';
import { generateKeyPair, toHex } from '../../../libs/crypto/index.js';
import { storageProto } from '../../../libs/rpc/index.js';
import type { StorageClient } from '../../../libs/rpc/proto-types.js';
import { StoragePeerForTests, patternBytes, storageIndex, AREA } from './storage-fixture.js';
import { databaseBackends, BACKEND_SETUP_MS } from '../../fixtures/database-backends.js';

const here = dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function startChild(configPath: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'storage-child.ts'), configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /^listening (\S+)$/.exec(line);
      if (m) resolve({ child, address: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`storage child exited with ${code} before listening`)));
  });
}

const SHARE_BYTES = 300_000;
const expected = (i: number): Uint8Array => patternBytes(SHARE_BYTES, i + 1);

for (const backend of databaseBackends('storage-crash')) describe(`storage crash safety on ${backend.name}`, () => {
  beforeAll(() => backend.setup(), BACKEND_SETUP_MS);
  afterAll(() => backend.teardown());

  it('keeps every acknowledged share and serves no partial share after SIGKILL mid-upload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'intergrid-storage-crash-'));
    dirs.push(dir);
    const gm = generateKeyPair();
    const key = generateKeyPair();
    const now = Date.now();
    writeKeyFile(join(dir, 'key.json'), key);
    writeCertificateFile(
      join(dir, 'certificate.b64'),
      issueCertificate(gm, { role: 'storage-server', subject: key.publicKey, grid: AREA, notBefore: now - 60_000, notAfter: now + 3_600_000, limits: {} }),
    );
    const configPath = join(dir, 'config.json');
    writeJsonAtomic(configPath, {
      listen: '127.0.0.1:0',
      dataDir: './data',
      keyFile: './key.json',
      certificateFile: './certificate.b64',
      gridManager: { address: '127.0.0.1:1', publicKey: toHex(gm.publicKey) },
      database: await backend.fresh(),
    });
    const clientKey = generateKeyPair();
    const identity = {
      keyPair: clientKey,
      certificates: [issueCertificate(gm, { role: 'client', subject: clientKey.publicKey, grid: AREA, notBefore: now - 60_000, notAfter: now + 3_600_000, limits: {} })],
    };
    const connect = (address: string): StoragePeerForTests => {
      const Ctor = storageProto().intergrid.storage.Storage;
      return new StoragePeerForTests(securedClient<StorageClient>(Ctor, { address, publicKey: key.publicKey }, identity));
    };

    const first = await startChild(configPath);
    const c = connect(first.address);
    const acknowledged = new Set<number>();
    const TOTAL = 24;
    for (let i = 0; i < TOTAL; i++) await c.allocate(storageIndex(i), [0], SHARE_BYTES);

    // Uploads run in a loop, 4 at a time, in small chunks; the kill lands after 6 acknowledgements.
    let killed = false;
    const upload = async (i: number): Promise<void> => {
      try {
        await c.write(storageIndex(i), 0, expected(i), { chunkSize: 16 * 1024 });
        acknowledged.add(i);
        if (acknowledged.size >= 6 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      } catch {
        // Expected once the process is gone.
      }
    };
    const queue = [...Array(TOTAL).keys()];
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        for (let i = queue.shift(); i !== undefined && !killed; i = queue.shift()) await upload(i);
      }),
    );
    if (!killed) first.child.kill('SIGKILL');
    await new Promise((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r(undefined) : first.child.once('exit', r)));
    c.raw.close();
    expect(acknowledged.size).toBeGreaterThanOrEqual(6);

    const second = await startChild(configPath);
    const c2 = connect(second.address);
    try {
      for (let i = 0; i < TOTAL; i++) {
        const listed = (await c2.list(storageIndex(i))).shares;
        if (acknowledged.has(i)) expect(listed, `acknowledged share ${i}`).toEqual([{ shareNumber: 0, size: SHARE_BYTES }]);
        if (listed.length === 0) continue;
        // Whatever is listed is complete and exact, acknowledged or not.
        expect(listed).toEqual([{ shareNumber: 0, size: SHARE_BYTES }]);
        const [got] = await c2.read(storageIndex(i), 0, [{ offset: 0, length: SHARE_BYTES }]);
        expect(Buffer.compare(got!, Buffer.from(expected(i))), `content of share ${i}`).toBe(0);
      }
    } finally {
      c2.raw.close();
      second.child.kill('SIGKILL');
    }
  });
});
