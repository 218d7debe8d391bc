import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, generateNatsCredentials, natsOutboxSender, readNatsCredentialsFile, writeNatsCredentialsFile, USAGE_STREAM } from '../../../libs/events/index.js';
import { UnavailableError } from '../../../libs/errors/index.js';
import { startNatsServer, type TestNatsServer } from '../../fixtures/nats-server.js';

const quiet = { onError: () => {} };
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('EventBus on a real nats-server', () => {
  let nats: TestNatsServer;
  let n = 0;
  // A fresh subject and durable per test, on the one stream.
  const fresh = () => ({ subject: `intergrid.usage.t${++n}`, durable: `d${n}` });

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('creates the usage stream on connect (file storage)', async () => {
    const bus = await EventBus.connect({ servers: [nats.url], stream: USAGE_STREAM }, quiet);
    expect(bus.stream).toBe(USAGE_STREAM);
    await bus.close();
  });

  it('stores a message published twice with the same msgId once (duplicate: true)', async () => {
    const bus = await EventBus.connect({ servers: [nats.url], stream: USAGE_STREAM }, quiet);
    const { subject, durable } = fresh();
    expect(await bus.publish(subject, enc('one'), 'm-1')).toEqual({ duplicate: false });
    expect(await bus.publish(subject, enc('one again'), 'm-1')).toEqual({ duplicate: true });
    expect(await bus.publish(subject, enc('two'), 'm-2')).toEqual({ duplicate: false });
    const got: string[] = [];
    const c = bus.consume(durable, subject, async (d) => {
      got.push(dec(d));
    });
    await until(() => got.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    await c.stop();
    expect(got).toEqual(['one', 'two']);
    await bus.close();
  });

  it('acks only after the handler resolved, and redelivers after a handler failure', async () => {
    const bus = await EventBus.connect({ servers: [nats.url], stream: USAGE_STREAM }, quiet);
    const { subject, durable } = fresh();
    for (let i = 0; i < 5; i++) await bus.publish(subject, enc(`e${i}`), `${subject}-${i}`);
    const seen: { data: string; redelivered: boolean }[] = [];
    let failedOnce = false;
    const c = bus.consume(
      durable,
      subject,
      async (d, m) => {
        seen.push({ data: dec(d), redelivered: m.redelivered });
        if (dec(d) === 'e2' && !failedOnce) {
          failedOnce = true;
          throw new Error('handler failed');
        }
      },
      { nakDelayMs: 50 },
    );
    await until(() => seen.filter((s) => s.data === 'e2').length === 2 && seen.length >= 6);
    await c.stop();
    const e2 = seen.filter((s) => s.data === 'e2');
    expect(e2.map((s) => s.redelivered)).toEqual([false, true]);
    // Everything else exactly once: acked after its handler resolved.
    for (const x of ['e0', 'e1', 'e3', 'e4']) expect(seen.filter((s) => s.data === x)).toHaveLength(1);
    // A new consumer instance on the same durable gets nothing again: all were acked.
    const again: string[] = [];
    const c2 = bus.consume(durable, subject, async (d) => {
      again.push(dec(d));
    });
    await new Promise((r) => setTimeout(r, 500));
    await c2.stop();
    expect(again).toEqual([]);
    await bus.close();
  });

  it('redelivers to the next consumer instance a message whose handler failed while stopping', async () => {
    const bus = await EventBus.connect({ servers: [nats.url], stream: USAGE_STREAM }, quiet);
    const { subject, durable } = fresh();
    await bus.publish(subject, enc('slow'), `${subject}-slow`);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const c = bus.consume(durable, subject, async () => {
      calls++;
      await gate;
      throw new Error('gave up');
    }, { ackWaitMs: 1000, nakDelayMs: 10 });
    await until(() => calls === 1);
    release();
    await c.stop();
    const got: boolean[] = [];
    const c2 = bus.consume(durable, subject, async (_d, m) => {
      got.push(m.redelivered);
    });
    await until(() => got.length === 1);
    await c2.stop();
    expect(got).toEqual([true]);
    await bus.close();
  });

  it('keeps consuming across a nats-server restart, and publish fails (no ack) while it is down', async () => {
    const bus = await EventBus.connect({ servers: [nats.url], stream: USAGE_STREAM }, { ...quiet, publishTimeoutMs: 500 });
    const { subject, durable } = fresh();
    const got: string[] = [];
    const c = bus.consume(durable, subject, async (d) => {
      got.push(dec(d));
    });
    await bus.publish(subject, enc('before'), `${subject}-before`);
    await until(() => got.length === 1);
    await nats.kill();
    await until(() => !bus.isConnected());
    await expect(bus.publish(subject, enc('lost?'), `${subject}-down`)).rejects.toBeInstanceOf(UnavailableError);
    await nats.start();
    // The stream and the durable consumer were on disk; the same loop resumes.
    await until(() => bus.isConnected());
    for (let i = 0; i < 3; i++) {
      for (;;) {
        try {
          await bus.publish(subject, enc(`after${i}`), `${subject}-after${i}`);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    await until(() => got.filter((g) => g.startsWith('after')).length === 3, 30_000);
    await c.stop();
    // The publish that got no ack may or may not have been stored; everything acked arrives exactly once.
    expect(got.filter((g) => g !== 'lost?')).toEqual(['before', 'after0', 'after1', 'after2']);
    await bus.close();
  }, 60_000);

  it('connect keeps retrying while the server is down, and can be aborted', async () => {
    const ac = new AbortController();
    const p = EventBus.connect({ servers: ['nats://127.0.0.1:1'], stream: USAGE_STREAM }, { ...quiet, retryMs: 50, signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    await expect(p).rejects.toThrow(/gave up connecting/);
  });

  it('natsOutboxSender publishes each row with msgId = row id and returns the acked ids', async () => {
    const bus = await EventBus.connect({ servers: [nats.url], stream: USAGE_STREAM }, quiet);
    const { subject, durable } = fresh();
    const send = natsOutboxSender(bus, subject);
    const rows = [
      { id: `${subject}-r1`, channel: 'nats', payload: 'p1', createdAtMs: 0, attempts: 0, lastError: null },
      { id: `${subject}-r2`, channel: 'nats', payload: 'p2', createdAtMs: 0, attempts: 0, lastError: null },
    ];
    expect(await send(rows)).toEqual({ done: rows.map((r) => r.id) });
    // Sent again (a crash before "mark sent"): acked again, stored once.
    expect(await send(rows)).toEqual({ done: rows.map((r) => r.id) });
    const got: string[] = [];
    const c = bus.consume(durable, subject, async (d) => {
      got.push(dec(d));
    });
    await until(() => got.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    await c.stop();
    expect(got).toEqual(['p1', 'p2']);
    await bus.close();
    // Not connected yet → throws, so the pump retries later.
    await expect(natsOutboxSender(() => undefined, subject)(rows)).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('EventBus on a nats-server that requires credentials (as every grid\'s does)', () => {
  let nats: TestNatsServer;
  const credentials = generateNatsCredentials('intergrid');
  let dir: string;

  beforeAll(async () => {
    nats = await startNatsServer({ credentials });
    dir = mkdtempSync(join(tmpdir(), 'nats-creds-'));
  });
  afterAll(async () => {
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes and consumes with the grid\'s user and password', async () => {
    const bus = await EventBus.connect({ servers: [nats.url], stream: USAGE_STREAM, credentials }, quiet);
    expect(await bus.publish('intergrid.usage.creds', enc('hello'), 'creds-1')).toEqual({ duplicate: false });
    await bus.close();
  });

  it.each([
    ['without credentials', undefined],
    ['with a wrong password', { user: credentials.user, password: `${credentials.password}x` }],
    ['with another user', { user: 'mallory', password: credentials.password }],
  ])('refuses a connection %s (connect keeps failing, naming the refusal)', async (_name, creds) => {
    const errors: string[] = [];
    const abort = new AbortController();
    const connecting = EventBus.connect(
      { servers: [nats.url], stream: USAGE_STREAM, ...(creds ? { credentials: creds } : {}) },
      { signal: abort.signal, retryMs: 100, onError: (err, ctx) => void errors.push(`${ctx}: ${err instanceof Error ? err.message : String(err)}`) },
    );
    await until(() => errors.length > 0, 10_000);
    abort.abort();
    await expect(connecting).rejects.toThrow(/gave up connecting \(.*[Aa]uthorization/);
    expect(errors[0]).toMatch(/the server refused/);
    expect(errors.join('\n')).not.toContain(credentials.password);
  });

  it('reads the credentials file `intergrid up` writes (mode 0600), and names the file, not the password, when it is wrong', () => {
    const path = join(dir, 'credentials.json');
    writeNatsCredentialsFile(path, credentials);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readNatsCredentialsFile(path)).toEqual(credentials);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ user: 'intergrid', password: 'short' }));
    expect(() => readNatsCredentialsFile(bad)).toThrow(new RegExp(`${bad}: password`));
    writeFileSync(bad, `{"user": "intergrid", "password": ${credentials.password}}`);
    let message = '';
    try {
      readNatsCredentialsFile(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/not valid JSON: syntax error at line 1/);
    expect(message).not.toContain(credentials.password.slice(0, 6));
  });
});
