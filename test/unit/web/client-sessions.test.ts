/**
 * ClientSessions (services/web/client-sessions.ts): a connection is reused
 * while young, and retired at once when a request failed for want of
 * servers (its directory may be stale); the request runs once more on a
 * fresh one only when the caller says nothing was sent yet.
 */
import { describe, expect, it } from 'vitest';
import type { GridConnection } from '../../../libs/client/index.js';
import { HappinessError, IntegrityError, UnavailableError } from '../../../libs/errors/index.js';
import { ClientSessions } from '../../../services/web/client-sessions.js';

function sessions(): { s: ClientSessions; opened: { id: number; closed: boolean }[] } {
  const opened: { id: number; closed: boolean }[] = [];
  const s = new ClientSessions(async () => {
    const c = { id: opened.length + 1, closed: false };
    opened.push(c);
    return { id: c.id, close: () => (c.closed = true) } as unknown as GridConnection;
  }, 60_000);
  return { s, opened };
}

const idOf = (conn: GridConnection): number => (conn as unknown as { id: number }).id;

describe('ClientSessions', () => {
  it('reuses a young connection', async () => {
    const { s, opened } = sessions();
    expect(await s.use(async (c) => idOf(c))).toBe(1);
    expect(await s.use(async (c) => idOf(c))).toBe(1);
    expect(opened).toHaveLength(1);
  });

  it('after a failure for want of servers: a second try on a fresh connection when allowed, and the stale one is closed', async () => {
    const { s, opened } = sessions();
    const seen: number[] = [];
    const got = await s.use(
      async (c) => {
        seen.push(idOf(c));
        if (seen.length === 1) throw new HappinessError('placed them on 5 of 10 known servers');
        return 'ok';
      },
      () => true,
    );
    expect(got).toBe('ok');
    expect(seen).toEqual([1, 2]);
    expect(opened[0]!.closed).toBe(true);
  });

  it('without leave to retry, the error stands but the next request gets a fresh connection', async () => {
    const { s } = sessions();
    await expect(s.use(async () => Promise.reject(new UnavailableError('connect ECONNREFUSED')))).rejects.toThrow(/ECONNREFUSED/);
    expect(await s.use(async (c) => idOf(c))).toBe(2);
  });

  it('other failures (bad data) keep the connection and are not retried', async () => {
    const { s } = sessions();
    let calls = 0;
    await expect(
      s.use(
        async () => {
          calls++;
          throw new IntegrityError('block hash mismatch');
        },
        () => true,
      ),
    ).rejects.toThrow(/mismatch/);
    expect(calls).toBe(1);
    expect(await s.use(async (c) => idOf(c))).toBe(1);
  });
});
