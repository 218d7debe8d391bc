/** The storage server's request clock bound is its config's maxClockSkewMs (libs/auth maxClockSkewSchema), as on every other service. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securedClient } from '../../../libs/auth/index.js';
import { storageProto } from '../../../libs/rpc/index.js';
import type { StorageClient } from '../../../libs/rpc/proto-types.js';
import { StorageFixture, StoragePeerForTests, storageIndex } from './storage-fixture.js';

const SKEW_MS = 5_000;
const f = new StorageFixture({ maxClockSkewMs: SKEW_MS });
const clients: StorageClient[] = [];

beforeAll(async () => {
  await f.start();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await f.cleanup();
});

/** A client whose request clock is `offsetMs` off the server's. */
function clientOff(offsetMs: number): StoragePeerForTests {
  const c = securedClient<StorageClient>(storageProto().intergrid.storage.Storage, f.server!, f.identity('client'), { now: () => Date.now() + offsetMs });
  clients.push(c);
  return new StoragePeerForTests(c);
}

describe('storage maxClockSkewMs', () => {
  it('accepts a request within the configured skew', async () => {
    await expect(clientOff(-SKEW_MS / 2).list(storageIndex(1))).resolves.toBeDefined();
  });

  it('refuses a request beyond the configured skew (which the 60 s default would accept)', async () => {
    await expect(clientOff(-2 * SKEW_MS).list(storageIndex(1))).rejects.toThrow(`(allowed ±${SKEW_MS} ms)`);
    await expect(clientOff(2 * SKEW_MS).list(storageIndex(1))).rejects.toThrow(`(allowed ±${SKEW_MS} ms)`);
  });
});
