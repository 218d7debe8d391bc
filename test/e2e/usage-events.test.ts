/**
 * Usage events inside one grid, end to end on a real nats-server: a real
 * grid manager consuming, publishers that duplicate and redeliver, a libs/outbox
 * pump across a nats-server restart, and a grid manager stopped and started
 * again mid-stream. After each, the per-account transfer tallies are exact:
 * nothing lost, nothing counted twice (issue 5, "nats-server restarted mid-stream").
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { generateKeyPair, toHex, type KeyPair } from '../../libs/crypto/index.js';
import { costOf } from '../../libs/ledger/index.js';
import { openDatabase } from '../../libs/db/index.js';
import { Outbox, createOutboxTable, startOutboxPump } from '../../libs/outbox/index.js';
import {
  EventBus,
  encodeClientUsageEvent,
  signClientUsageEvent,
  clientUsageEventId,
  natsOutboxSender,
  CLIENT_USAGE_SUBJECT,
  USAGE_STREAM,
  type ClientUsageEvent,
} from '../../libs/events/index.js';
import { connectGridManager, type GridManagerConnection, type TransferTallyInfo } from '../../libs/grid/index.js';
import {
  initGridManager,
  loadGridManagerConfig,
  loadAdminIdentity,
  startGridManager,
  type GridManagerConfig,
  type RunningGridManager,
} from '../../services/grid-manager/index.js';
import { readJsonObjectIfPresent, writeJsonAtomic } from '../../libs/config/index.js';
import { builtCli } from './fixtures/built-cli.js';
import { startNatsServer, type TestNatsServer } from '../fixtures/nats-server.js';

const quiet = { onError: () => {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The exact tallies a set of distinct events must produce. */
function expected(events: Iterable<ClientUsageEvent>): Map<string, { bytes: number; transfers: number; units: number }> {
  const out = new Map<string, { bytes: number; transfers: number; units: number }>();
  for (const e of events) {
    const k = `${e.client}/${e.remoteAreaCode}`;
    const t = out.get(k) ?? { bytes: 0, transfers: 0, units: 0 };
    out.set(k, { bytes: t.bytes + e.bytes, transfers: t.transfers + 1, units: t.units + e.units });
  }
  return out;
}

function actual(lines: TransferTallyInfo[]): Map<string, { bytes: number; transfers: number; units: number }> {
  return new Map(lines.map((l) => [`${toHex(l.account)}/${l.remoteAreaCode}`, { bytes: l.bytes, transfers: l.transfers, units: l.units }]));
}

describe('usage events: gateway → NATS JetStream → grid manager tallies', () => {
  let nats: TestNatsServer;
  let dir: string;
  let config: GridManagerConfig;
  let configPath: string;
  let gm: RunningGridManager | undefined;
  let admin: GridManagerConnection;
  const outcomes = { applied: 0, duplicate: 0, malformed: 0, forged: 0, 'foreign-signer': 0 };
  /** The grid's gateway (approved by the grid manager in beforeEach): it signs every event. */
  let gateway: KeyPair;
  const signed = (e: ClientUsageEvent): Uint8Array => signClientUsageEvent(e, gateway);
  const clients = [generateKeyPair().publicKey, generateKeyPair().publicKey, generateKeyPair().publicKey].map(toHex);
  const areas = ['102', '103', '10400'];
  let seq = 0;

  function newEvent(): ClientUsageEvent {
    const i = ++seq;
    const transferId = `xfer-${process.pid}-${i}`;
    const bytes = (i * 7919) % 5_000_000;
    const priceUnitsPerGib = 1 + (i % 13);
    return {
      version: 1,
      eventId: clientUsageEventId(transferId),
      transferId,
      client: clients[i % clients.length]!,
      remoteAreaCode: areas[i % areas.length]!,
      bytes,
      priceUnitsPerGib,
      units: costOf(bytes, priceUnitsPerGib),
      atMs: 1_700_000_000_000 + i,
    };
  }

  async function startGm(): Promise<void> {
    gm = await startGridManager(config, {
      onEventsLog: () => {},
      onUsageEvent: (o) => {
        outcomes[o]++;
      },
    });
    connectAdmin(gm.address);
  }

  function connectAdmin(address: string): void {
    admin?.close();
    const identity = loadAdminIdentity(join(dir, 'admin.json'));
    admin = connectGridManager(address, identity.identity, { gridManagerPublicKey: identity.gridManager.publicKey });
  }

  async function expectTallies(events: ClientUsageEvent[], ms = 60_000): Promise<void> {
    const want = expected(events);
    let got = new Map();
    await until(
      async () => {
        got = actual((await admin.getUsageSummary()).transfers);
        return JSON.stringify([...got].sort()) === JSON.stringify([...want].sort());
      },
      ms,
      'exact tallies',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nwant ${JSON.stringify([...want].sort())}\ngot  ${JSON.stringify([...got].sort())}`);
    });
    // And they stay exact (no late doubles).
    await sleep(500);
    expect([...actual((await admin.getUsageSummary()).transfers)].sort()).toEqual([...want].sort());
  }

  beforeEach(async () => {
    // A fresh nats-server (and so a fresh stream) per test.
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'usage-events-'));
    const init = initGridManager(dir, { areaCode: '101', listen: '127.0.0.1:0' });
    configPath = init.configPath;
    config = { ...loadGridManagerConfig(init.configPath), nats: { servers: [nats.url], stream: USAGE_STREAM } };
    outcomes.applied = outcomes.duplicate = outcomes.malformed = outcomes.forged = outcomes['foreign-signer'] = 0;
    config = { ...config, metrics: { listen: '127.0.0.1:0' } };
    await startGm();
    await admin.approve({ role: 'client', subject: Buffer.from(clients[0]!, 'hex'), name: 'alice' });
    gateway = generateKeyPair();
    await admin.approve({ role: 'gateway', subject: gateway.publicKey, name: 'gateway' });
  });

  afterEach(async () => {
    admin?.close();
    await gm?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tallies many events exactly, counting republished and redelivered events once', async () => {
    const bus = await EventBus.connect(config.nats!, quiet);
    const events = Array.from({ length: 300 }, newEvent);
    for (const e of events) await bus.publish(CLIENT_USAGE_SUBJECT, signed(e), e.eventId);
    // The same event id published again: JetStream's duplicate window drops it.
    for (const e of events.slice(0, 50)) expect(await bus.publish(CLIENT_USAGE_SUBJECT, signed(e), e.eventId)).toEqual({ duplicate: true });
    // The same event under another msgID (as after the duplicate window): stored again, the processed table skips it.
    for (const e of events.slice(50, 80)) await bus.publish(CLIENT_USAGE_SUBJECT, signed(e), `${e.eventId}-again`);
    // A malformed event is dropped (logged) and does not block the consumer.
    await bus.publish(CLIENT_USAGE_SUBJECT, new TextEncoder().encode('{"version":1}'), 'garbage-1');
    const late = Array.from({ length: 20 }, newEvent);
    for (const e of late) await bus.publish(CLIENT_USAGE_SUBJECT, signed(e), e.eventId);
    await bus.close();

    await expectTallies([...events, ...late]);
    expect(outcomes).toEqual({ applied: 320, duplicate: 30, malformed: 1, forged: 0, 'foreign-signer': 0 });
    // The account's principal name is filled in where the grid knows it.
    const summary = await admin.getUsageSummary();
    const named = summary.transfers.filter((t) => toHex(t.account) === clients[0]);
    expect(named.length).toBeGreaterThan(0);
    expect(named.every((t) => t.name === 'alice')).toBe(true);
    expect(summary.transfers.filter((t) => toHex(t.account) !== clients[0]).every((t) => t.name === '')).toBe(true);
  });

  it('drops unsigned, forged and foreign-signed events without tallying them, counting each in a metric', async () => {
    const bus = await EventBus.connect(config.nats!, quiet);
    const honest = Array.from({ length: 5 }, newEvent);
    // Unsigned (the old version-1 wire form): anyone on the NATS could have sent it.
    const unsigned = newEvent();
    await bus.publish(CLIENT_USAGE_SUBJECT, encodeClientUsageEvent(unsigned), unsigned.eventId);
    // Signed by a key the grid manager never approved as its gateway.
    const stranger = newEvent();
    await bus.publish(CLIENT_USAGE_SUBJECT, signClientUsageEvent(stranger, generateKeyPair()), stranger.eventId);
    // A gateway's event with its bytes raised after signing.
    const altered = newEvent();
    const wire = JSON.parse(new TextDecoder().decode(signed(altered))) as { body: string; signature: string; signer: string };
    const body = JSON.parse(Buffer.from(wire.body, 'base64').toString('utf8')) as ClientUsageEvent;
    const raised = { ...body, bytes: body.bytes + 2 ** 30, units: costOf(body.bytes + 2 ** 30, body.priceUnitsPerGib) };
    wire.body = Buffer.from(encodeClientUsageEvent(raised)).toString('base64');
    await bus.publish(CLIENT_USAGE_SUBJECT, new TextEncoder().encode(JSON.stringify(wire)), altered.eventId);
    // A revoked gateway's own signature no longer counts either.
    const revokedGateway = generateKeyPair();
    await admin.approve({ role: 'gateway', subject: revokedGateway.publicKey, name: 'old-gateway' });
    await admin.revoke(revokedGateway.publicKey);
    const byRevoked = newEvent();
    await bus.publish(CLIENT_USAGE_SUBJECT, signClientUsageEvent(byRevoked, revokedGateway), byRevoked.eventId);
    for (const e of honest) await bus.publish(CLIENT_USAGE_SUBJECT, signed(e), e.eventId);
    await bus.close();

    await expectTallies(honest);
    expect(outcomes).toEqual({ applied: 5, duplicate: 0, malformed: 1, forged: 1, 'foreign-signer': 2 });
    const metrics = await (await fetch(`http://${gm!.metricsAddress}/metrics`)).text();
    expect(metrics).toMatch(/intergrid_grid_usage_events_dropped_total\{[^}]*reason="malformed"[^}]*\} 1/);
    expect(metrics).toMatch(/intergrid_grid_usage_events_dropped_total\{[^}]*reason="forged"[^}]*\} 1/);
    expect(metrics).toMatch(/intergrid_grid_usage_events_dropped_total\{[^}]*reason="foreign-signer"[^}]*\} 2/);
  });

  it('loses and doubles nothing when nats-server restarts in the middle of an outbox-pumped stream', async () => {
    const odir = mkdtempSync(join(tmpdir(), 'usage-outbox-'));
    let knex: Knex | undefined;
    const bus = await EventBus.connect(config.nats!, { ...quiet, publishTimeoutMs: 1000 });
    try {
      knex = await openDatabase(
        { client: 'sqlite3', filename: join(odir, 'gw.sqlite') },
        [{ name: '001', up: (k) => createOutboxTable(k, 'outbox') }],
        'test_migrations',
      );
      const outbox = new Outbox(knex, 'outbox');
      const pump = startOutboxPump(outbox, 'nats', natsOutboxSender(bus, CLIENT_USAGE_SUBJECT), { batchSize: 20, pollMs: 50, minBackoffMs: 50, maxBackoffMs: 500 });
      const events: ClientUsageEvent[] = [];
      const add = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const e = newEvent();
          events.push(e);
          // As the gateway does: the outbox row in the same transaction as the change it records.
          await knex!.transaction((trx) => outbox.add(trx, [{ id: e.eventId, channel: 'nats', payload: new TextDecoder().decode(signed(e)) }]));
          pump.wake();
        }
      };
      await add(150);
      // Restart while rows are pending and acks are in flight.
      const restarting = nats.restart();
      await add(150);
      await restarting;
      await add(100);
      await pump.drained();
      await pump.stop();
      await expectTallies(events);
      expect(outcomes.applied).toBe(400);
    } finally {
      await bus.close();
      await knex?.destroy();
      rmSync(odir, { recursive: true, force: true });
    }
  }, 120_000);

  it('loses and doubles nothing when the grid manager stops and starts again mid-stream', async () => {
    const bus = await EventBus.connect(config.nats!, quiet);
    const events: ClientUsageEvent[] = [];
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const e = newEvent();
        events.push(e);
        await bus.publish(CLIENT_USAGE_SUBJECT, signed(e), e.eventId);
        if (events.length % 10 === 0) await sleep(5);
      }
    })();
    await until(async () => outcomes.applied >= 50, 30_000, 'the first events to be tallied');
    await gm!.stop();
    gm = undefined;
    await sleep(300);
    await startGm();
    await until(async () => events.length >= 600, 30_000, 'more events');
    publishing = false;
    await publisher;
    await bus.close();
    await expectTallies(events);
  }, 120_000);

  it('loses and doubles nothing when the grid manager process is killed (SIGKILL) mid-stream', async () => {
    // The real service process of the built CLI, as `intergrid up` runs it.
    const { startServiceChild, stopChildren } = (await import(
      new URL('./child-process.js', pathToFileURL(builtCli())).href
    )) as typeof import('../../services/cli/child-process.js');
    await gm!.stop();
    gm = undefined;
    writeJsonAtomic(configPath, { ...readJsonObjectIfPresent(configPath), nats: config.nats });
    const spawnGm = (n: number) =>
      startServiceChild({ role: 'grid-manager', name: `gm-${n}`, service: 'grid-manager', configPath, logFile: join(dir, `gm-${n}.log`) });
    const first = await spawnGm(1);
    connectAdmin(first.address);
    const tallied = async () => (await admin.getUsageSummary()).transfers.reduce((n, t) => n + t.transfers, 0);

    const bus = await EventBus.connect(config.nats!, quiet);
    const events: ClientUsageEvent[] = [];
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const e = newEvent();
        events.push(e);
        await bus.publish(CLIENT_USAGE_SUBJECT, signed(e), e.eventId);
        if (events.length % 10 === 0) await sleep(5);
      }
    })();
    const second = await (async () => {
      try {
        await until(async () => (await tallied()) >= 100, 30_000, 'the first events to be tallied');
        // Killed while consuming: some events committed but not acked, some pulled and not handled.
        first.process.kill('SIGKILL');
        await first.exited;
        await sleep(300);
        return await spawnGm(2);
      } catch (err) {
        await stopChildren([first]);
        throw err;
      }
    })();
    try {
      connectAdmin(second.address);
      await until(async () => events.length >= 800, 30_000, 'more events');
      publishing = false;
      await publisher;
      await bus.close();
      // Unacked messages come back after the ack wait (10 s); the processed table skips those already counted.
      await expectTallies(events, 60_000);
    } finally {
      publishing = false;
      admin.close();
      await stopChildren([second]);
    }
  }, 120_000);
});
