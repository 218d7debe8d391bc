import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase } from '../../../libs/db/index.js';
import { Outbox, createOutboxTable, startOutboxPump, type OutboxRow, type SendResult } from '../../../libs/outbox/index.js';
import { databaseBackends } from '../../fixtures/database-backends.js';

const migrations = [{ name: '001-outbox', up: (k: Knex) => createOutboxTable(k, 'test_outbox') }];

for (const backend of databaseBackends('outbox')) {
  describe(`outbox on ${backend.name}`, () => {
    let knex: Knex;
    let outbox: Outbox;
    beforeAll(() => backend.setup(), 60_000);
    afterAll(() => backend.teardown());
    beforeEach(async () => {
      knex = await openDatabase(await backend.fresh(), migrations, 'test_migrations');
      outbox = new Outbox(knex, 'test_outbox');
    });
    afterEach(async () => {
      await knex.destroy();
    });

    it('adds inside the caller transaction: a rolled-back change leaves no message', async () => {
      await knex.schema.createTable('things', (t) => t.string('id').primary());
      await expect(
        knex.transaction(async (trx) => {
          await trx('things').insert({ id: 'a' });
          await outbox.add(trx, [{ id: 'm-a', channel: 'c', payload: 'a' }]);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await outbox.counts('c')).toEqual({ pending: 0, sent: 0, rejected: 0, expired: 0 });
      await knex.transaction(async (trx) => {
        await trx('things').insert({ id: 'b' });
        await outbox.add(trx, [{ id: 'm-b', channel: 'c', payload: 'b' }]);
      });
      expect((await outbox.due('c', 10)).map((r) => r.id)).toEqual(['m-b']);
    });

    it('ignores a message added twice with the same id', async () => {
      await outbox.add(knex, [{ id: 'm1', channel: 'c', payload: 'first' }]);
      await outbox.add(knex, [{ id: 'm1', channel: 'c', payload: 'second' }]);
      const due = await outbox.due('c', 10);
      expect(due.map((r) => [r.id, r.payload])).toEqual([['m1', 'first']]);
    });

    it('pumps every message once in order, retries failures, keeps rejections', async () => {
      const messages = Array.from({ length: 250 }, (_, i) => ({ id: `m${String(i).padStart(3, '0')}`, channel: 'c', payload: String(i) }));
      await outbox.add(knex, messages);
      await outbox.add(knex, [{ id: 'other', channel: 'd', payload: 'x' }]);
      const received: string[] = [];
      let calls = 0;
      const send = async (rows: OutboxRow[]): Promise<SendResult> => {
        calls++;
        if (calls === 2) throw new Error('receiver down');
        const done: string[] = [];
        const rejected: { id: string; reason: string }[] = [];
        for (const r of rows) {
          if (r.id === 'm007') rejected.push({ id: r.id, reason: 'bad record' });
          else if (r.id === 'm010' && r.attempts === 0) continue; // not acknowledged the first time
          else {
            received.push(r.id);
            done.push(r.id);
          }
        }
        return { done, rejected };
      };
      const errors: unknown[] = [];
      const pump = startOutboxPump(outbox, 'c', send, { batchSize: 40, minBackoffMs: 5, pollMs: 20, onError: (e) => errors.push(e) });
      await pump.drained();
      await pump.stop();
      const expected = messages.map((m) => m.id).filter((id) => id !== 'm007');
      expect([...received].sort()).toEqual(expected);
      expect(new Set(received).size).toBe(received.length);
      expect(await outbox.counts('c')).toEqual({ pending: 0, sent: 249, rejected: 1, expired: 0 });
      expect(await outbox.stateOf('m007')).toMatchObject({ state: 'rejected', lastError: 'bad record' });
      // Not acknowledged at first, so retried (also counted when it rode along in the batch that threw).
      expect((await outbox.stateOf('m010'))?.attempts).toBeGreaterThanOrEqual(1);
      expect(await outbox.counts('d')).toMatchObject({ pending: 1 });
      expect(errors.length).toBeGreaterThanOrEqual(2);
    });

    it('expires messages older than giveUpAfterMs instead of sending them', async () => {
      let clock = 1_000_000;
      const timed = new Outbox(knex, 'test_outbox', () => clock);
      await timed.add(knex, [{ id: 'old', channel: 'c', payload: 'x' }]);
      clock += 10_000;
      const dropped: string[] = [];
      const pump = startOutboxPump(timed, 'c', async () => ({ done: ['old'] }), {
        giveUpAfterMs: 5_000,
        now: () => clock,
        onDropped: (row, state) => dropped.push(`${row.id}:${state}`),
      });
      await pump.drained();
      await pump.stop();
      expect(dropped).toEqual(['old:expired']);
      expect(await timed.stateOf('old')).toMatchObject({ state: 'expired' });
    });

    it('a new pump picks up what a stopped one left (nothing lost across restarts)', async () => {
      await outbox.add(knex, [{ id: 'a', channel: 'c', payload: '1' }]);
      const first = startOutboxPump(outbox, 'c', async () => {
        throw new Error('down');
      }, { minBackoffMs: 1, pollMs: 10 });
      await new Promise((r) => setTimeout(r, 30));
      await first.stop();
      expect(await outbox.counts('c')).toMatchObject({ pending: 1 });
      const got: string[] = [];
      const second = startOutboxPump(outbox, 'c', async (rows) => {
        got.push(...rows.map((r) => r.id));
        return { done: rows.map((r) => r.id) };
      }, { minBackoffMs: 1, maxBackoffMs: 5, pollMs: 10 });
      await second.drained();
      await second.stop();
      expect(got).toEqual(['a']);
    });
  });
}
