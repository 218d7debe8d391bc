/**
 * HomeGrid against a real grid manager (one storage server): one shared
 * session, replaced in the background once stale, the old one closed only
 * after its last transfer releases it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HomeGrid } from '../../../services/contact-point/home-grid.js';
import { startLocalGrid, type LocalGrid } from '../../e2e/fixtures/local-grid.js';
import { fromHex, generateKeyPair } from '../../../libs/crypto/index.js';
import { isIntergridError } from '../../../libs/errors/index.js';
import { decodeCertificateBase64 } from '../../../libs/auth/index.js';
import type { GridMember, GridSession } from '../../../libs/client/index.js';

let grid: LocalGrid;
let member: GridMember;

beforeAll(async () => {
  grid = await startLocalGrid({ servers: 1, areaCode: '101' });
  const keyPair = generateKeyPair();
  const cert = await grid.admin.approve({ role: 'contact-point', subject: keyPair.publicKey, name: 'cp' });
  member = {
    identity: { keyPair, certificates: [cert] },
    areaCode: '101',
    gridManager: { address: grid.gridManagerAddress, publicKey: fromHex(grid.clientConfig.gridManager.publicKey) },
  };
});

afterAll(async () => {
  await grid?.stop();
});

function watchClose(session: GridSession): () => number {
  let closes = 0;
  const original = session.close.bind(session);
  (session as { close(): void }).close = () => {
    closes++;
    original();
  };
  return () => closes;
}

describe('HomeGrid', () => {
  it('shares one session between transfers while it is fresh', async () => {
    const home = new HomeGrid(member, { refreshMs: 60_000 });
    const a = await home.acquire();
    const b = await home.acquire();
    expect(b.session).toBe(a.session);
    expect(a.session.servers).toHaveLength(1);
    a.release();
    b.release();
    home.close();
  });

  it('replaces a stale session in the background and closes the old one only when released', async () => {
    let now = 1_000_000;
    const home = new HomeGrid(member, { refreshMs: 1000, now: () => now });
    const first = await home.acquire();
    const closes = watchClose(first.session);
    now += 1001;
    // Stale: this transfer still gets the current session; the refresh runs behind it.
    const during = await home.acquire();
    expect(during.session).toBe(first.session);
    let next = await home.acquire();
    for (let i = 0; i < 200 && next.session === first.session; i++) {
      next.release();
      await new Promise((r) => setTimeout(r, 20));
      next = await home.acquire();
    }
    expect(next.session).not.toBe(first.session);
    expect(closes()).toBe(0);
    first.release();
    expect(closes()).toBe(0);
    during.release();
    expect(closes()).toBe(1);
    next.release();
    home.close();
  });

  it('renews its certificate in the last quarter of its life, reports it and uses it from then on', async () => {
    const keyPair = generateKeyPair();
    const cert = await grid.admin.approve({ role: 'contact-point', subject: keyPair.publicKey, name: 'cp-renew', validityMs: 60_000 });
    const renewed: string[] = [];
    // 50 s into a 60 s certificate: within its last quarter.
    const home = new HomeGrid({ ...member, identity: { keyPair, certificates: [cert] } }, { refreshMs: 60_000, now: () => Date.now() + 50_000, onCertificateRenewed: (b64) => renewed.push(b64) });
    const lease = await home.acquire();
    expect(renewed).toHaveLength(1);
    const fresh = decodeCertificateBase64(renewed[0]!);
    expect(fresh.notAfter).toBeGreaterThan(cert.notAfter);
    expect(fresh.role).toBe('contact-point');
    expect(home.currentIdentity().certificates[0]!.notAfter).toBe(fresh.notAfter);
    lease.release();
    home.close();
  });

  it('fails a transfer with UNAVAILABLE when the grid manager cannot be reached, and tries again on the next', async () => {
    const home = new HomeGrid({ ...member, gridManager: { ...member.gridManager, address: '127.0.0.1:1' } }, { refreshMs: 1000 });
    for (let i = 0; i < 2; i++) {
      const err = await home.acquire().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isIntergridError(err) && err.code).toBe('UNAVAILABLE');
    }
    home.close();
  });
});
