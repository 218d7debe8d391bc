/**
 * An attacker with its own client account who learned a storage index: it
 * plants `size`-byte junk as every share number on every server, through the
 * ordinary client API (AllocateBuckets, asking to replace what is held, then
 * WriteShare). Returns how many shares the servers acknowledged.
 */
import type { GridConnection } from '../../../libs/client/index.js';
import { randomBytes } from '../../../libs/crypto/index.js';

export async function plantShares(attacker: GridConnection, storageIndex: Uint8Array, n: number, size: number): Promise<number> {
  const all = Array.from({ length: n }, (_, i) => i);
  let stored = 0;
  await Promise.all(
    attacker.servers.map(async (server) => {
      const { allocated } = await server.allocateBuckets(storageIndex, all, size, all);
      for (const shnum of allocated) {
        const w = server.openShareWriter(storageIndex, shnum, size);
        try {
          await w.write(randomBytes(size));
          await w.finish();
          stored++;
        } catch {
          w.cancel();
        }
      }
    }),
  );
  return stored;
}
