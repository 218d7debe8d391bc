import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  encodeClientUsageEvent,
  signClientUsageEvent,
  openSignedClientUsageEvent,
  parseClientUsageEvent,
  clientUsageEventId,
  natsConfigSchema,
  USAGE_STREAM,
  type ClientUsageEvent,
} from '../../../libs/events/index.js';
import { IntegrityError, LayoutInvalidError, InvalidArgumentError } from '../../../libs/errors/index.js';
import { bytesEqual, generateKeyPair } from '../../../libs/crypto/index.js';
import { costOf } from '../../../libs/ledger/index.js';

const client = 'ab'.repeat(32);
const event = (over: Partial<ClientUsageEvent> = {}): ClientUsageEvent => ({
  version: 1,
  eventId: 'use-t1',
  transferId: 't1',
  client,
  remoteAreaCode: '101',
  bytes: 2 ** 30,
  priceUnitsPerGib: 5,
  units: 5,
  atMs: 1_700_000_000_000,
  ...over,
});
const raw = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('client usage event', () => {
  it('round-trips through encode and parse', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.stringMatching(/^[a-z0-9-]{1,40}$/),
        (bytes, price, t) => {
          const e = event({ bytes, priceUnitsPerGib: price, units: costOf(bytes, price), transferId: t, eventId: clientUsageEventId(t) });
          expect(parseClientUsageEvent(encodeClientUsageEvent(e))).toEqual(e);
        },
      ),
    );
  });

  it('names the event id as use-<transferId>', () => {
    expect(clientUsageEventId('abc')).toBe('use-abc');
  });

  const rejects: [string, unknown, RegExp][] = [
    ['units that differ from costOf', { ...event(), units: 6 }, /units 6 != costOf\(1073741824 bytes, 5 units\/GiB\) = 5/],
    ['an unknown field', { ...event(), extra: 1 }, /extra|unrecognized/i],
    ['a missing field', (({ atMs: _a, ...rest }) => rest)(event()), /atMs/],
    ['version 2', { ...event(), version: 2 }, /version/],
    ['a short client key', { ...event(), client: 'abcd' }, /client: expected 64 lowercase hex/],
    ['an uppercase client key', { ...event(), client: 'AB'.repeat(32) }, /client/],
    ['a 2-digit area code', { ...event(), remoteAreaCode: '10' }, /remoteAreaCode: expected 3-8 decimal digits/],
    ['negative bytes', { ...event(), bytes: -1 }, /bytes/],
    ['fractional bytes', { ...event(), bytes: 1.5 }, /bytes/],
    ['unsafe integer bytes', { ...event(), bytes: 2 ** 53 }, /bytes/],
    ['bytes as a string', { ...event(), bytes: '1' }, /bytes/],
    ['an event id with spaces', { ...event(), eventId: 'use t1' }, /eventId/],
    ['an empty event id', { ...event(), eventId: '' }, /eventId/],
    ['a JSON array', [1, 2], /\(event\)/],
  ];
  for (const [what, value, message] of rejects) {
    it(`parse rejects ${what} with LayoutInvalidError`, () => {
      const err = (() => {
        try {
          parseClientUsageEvent(raw(value));
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(LayoutInvalidError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('parse rejects bytes that are not UTF-8 JSON', () => {
    expect(() => parseClientUsageEvent(new Uint8Array([0xff, 0xfe]))).toThrow(LayoutInvalidError);
    expect(() => parseClientUsageEvent(new TextEncoder().encode('{"version":'))).toThrow(/not UTF-8 JSON/);
  });

  it('parse rejects an oversized message', () => {
    expect(() => parseClientUsageEvent(new Uint8Array(5000))).toThrow(/at most 4096/);
  });

  it('encode refuses a malformed event with InvalidArgumentError', () => {
    expect(() => encodeClientUsageEvent(event({ units: 1 }))).toThrow(InvalidArgumentError);
  });
});

describe('signed client usage events', () => {
  const gateway = generateKeyPair();

  it('round-trips an event signed by the gateway key, naming the signer', () => {
    const opened = openSignedClientUsageEvent(signClientUsageEvent(event(), gateway));
    expect(opened.event).toEqual(event());
    expect(bytesEqual(opened.signer, gateway.publicKey)).toBe(true);
  });

  it('refuses an unsigned (version-1 wire form) event with LayoutInvalidError', () => {
    expect(() => openSignedClientUsageEvent(encodeClientUsageEvent(event()))).toThrow(LayoutInvalidError);
    expect(() => openSignedClientUsageEvent(encodeClientUsageEvent(event()))).toThrow(/not signed/);
  });

  it('refuses an event altered after signing, or claiming another signer, with IntegrityError', () => {
    const wire = JSON.parse(new TextDecoder().decode(signClientUsageEvent(event(), gateway))) as Record<string, string>;
    const altered = { ...wire, body: Buffer.from(encodeClientUsageEvent(event({ bytes: 2 ** 31, units: costOf(2 ** 31, 5) }))).toString('base64') };
    expect(() => openSignedClientUsageEvent(new TextEncoder().encode(JSON.stringify(altered)))).toThrow(IntegrityError);
    const otherSigner = { ...wire, signer: Buffer.from(generateKeyPair().publicKey).toString('hex') };
    expect(() => openSignedClientUsageEvent(new TextEncoder().encode(JSON.stringify(otherSigner)))).toThrow(IntegrityError);
  });
});

describe('natsConfigSchema', () => {
  it('defaults the stream name', () => {
    expect(natsConfigSchema.parse({ servers: ['nats://127.0.0.1:4222'] })).toEqual({ servers: ['nats://127.0.0.1:4222'], stream: USAGE_STREAM });
  });
  it('rejects an empty server list, a non-URL and unknown fields', () => {
    expect(() => natsConfigSchema.parse({ servers: [] })).toThrow();
    expect(() => natsConfigSchema.parse({ servers: ['127.0.0.1:4222'] })).toThrow(/nats:\/\/host:port/);
    expect(() => natsConfigSchema.parse({ servers: ['nats://h:1'], extra: true })).toThrow();
  });
});
