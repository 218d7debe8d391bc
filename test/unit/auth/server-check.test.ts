/**
 * The auth check end to end over real gRPC (test/fixtures/echo.proto on
 * 127.0.0.1:0): the client interceptor signs, secureService checks, and each
 * rejection arrives with its exact status code and a message naming why.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, toHex, type KeyPair } from '../../../libs/crypto/index.js';
import { InternalError, InvalidArgumentError, AuthenticationError, PermissionError } from '../../../libs/errors/index.js';
import { bindServer, stopServer, fromServiceError } from '../../../libs/rpc/index.js';
import {
  AccessDeniedError,
  authInterceptor,
  issueCertificate,
  pinnedClient,
  principalOf,
  secureService,
  AUTH_METADATA_KEYS,
  type AuthPolicy,
  type Identity,
  type Role,
} from '../../../libs/auth/index.js';
import { echoService, type EchoClient, type EchoReply, type EchoRequest } from '../../fixtures/echo-service.js';

const HOUR = 3_600_000;
const issuer = generateKeyPair();
const stranger = generateKeyPair();
const revoked = new Set<string>();

function identity(role: Role, opts: { key?: KeyPair; signer?: KeyPair; notBefore?: number; notAfter?: number; subject?: Uint8Array } = {}): Identity {
  const keyPair = opts.key ?? generateKeyPair();
  const now = Date.now();
  const cert = issueCertificate(opts.signer ?? issuer, {
    role,
    subject: opts.subject ?? keyPair.publicKey,
    grid: '101',
    notBefore: opts.notBefore ?? now - HOUR,
    notAfter: opts.notAfter ?? now + HOUR,
    limits: {},
  });
  return { keyPair, certificates: [cert] };
}

/** The key of the server under test: its TLS certificate carries it and calls are signed for it. */
const serverKey = generateKeyPair();

const policy: AuthPolicy = {
  methods: { Say: ['client', 'admin'], Repeat: ['client'], Collect: ['client'], Chat: ['client'], Admin: ['admin'] },
  issuersFor: () => [issuer.publicKey],
  isRevoked: (subject) => revoked.has(toHex(subject)),
  serverKey: serverKey.publicKey,
};

/** The auth interceptor signing as `id` for the server under test (or `target`). */
function signAs(id: Identity, opts: { now?: () => number; target?: Uint8Array } = {}): grpc.Interceptor {
  return authInterceptor(id, { target: opts.target ?? serverKey.publicKey, ...(opts.now ? { now: opts.now } : {}) });
}

/** Texts the Collect handler received, per call (to prove nothing leaks before the check). */
const collected: string[][] = [];

const implementation: grpc.UntypedServiceImplementation = {
  Say(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
    const p = principalOf(call);
    cb(null, { text: call.request.text ?? '', caller: Buffer.from(p.publicKey), role: p.role, messages: 1 });
  },
  Admin(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
    cb(null, { text: 'admin', caller: Buffer.from(principalOf(call).publicKey), role: principalOf(call).role, messages: 1 });
  },
  Secret(_call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
    cb(null, { text: 'secret', caller: Buffer.alloc(0), role: '', messages: 1 });
  },
  Repeat(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
    const p = principalOf(call);
    for (let i = 0; i < (call.request.count ?? 0); i++) {
      call.write({ text: `${call.request.text}#${i}`, caller: Buffer.from(p.publicKey), role: p.role, messages: 1 });
    }
    call.end();
  },
  Collect(call: grpc.ServerReadableStream<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
    if (call.metadata.get('x-throw').length > 0) throw new Error('handler bug');
    const p = principalOf(call);
    const texts: string[] = [];
    collected.push(texts);
    call.on('data', (m: EchoRequest) => texts.push(m.text ?? ''));
    call.on('end', () => cb(null, { text: texts.join(','), caller: Buffer.from(p.publicKey), role: p.role, messages: texts.length }));
  },
  async Chat(call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) {
    // An async iterator (the other way handlers read streams). destroyOnReturn: false, because a
    // plain `for await` destroys the duplex when the loop ends, before grpc-js sends the status.
    const p = principalOf(call);
    for await (const m of call.iterator({ destroyOnReturn: false }) as AsyncIterable<EchoRequest>) {
      call.write({ text: `re:${m.text}`, caller: Buffer.from(p.publicKey), role: p.role, messages: 1 });
    }
    call.end();
  },
};

let server: grpc.Server;
let client: EchoClient;
const Echo = echoService();

beforeAll(async () => {
  server = new grpc.Server();
  const secured = secureService(Echo.service, implementation, policy);
  server.addService(secured.definition, secured.implementation);
  const started = await bindServer(server, '127.0.0.1:0', serverKey);
  client = pinnedClient<EchoClient>(Echo, { address: started.address, publicKey: serverKey.publicKey });
});

afterAll(async () => {
  client?.close();
  if (server) await stopServer(server, 1000);
});

type Interceptors = grpc.Interceptor[];

function say(interceptors: Interceptors, req: EchoRequest = { text: 'hi' }, metadata = new grpc.Metadata(), method: 'Say' | 'Admin' | 'Secret' = 'Say'): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client[method](req, metadata, { interceptors, deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

function collect(interceptors: Interceptors, texts: string[]): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const call = client.Collect(new grpc.Metadata(), { interceptors, deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
    for (const text of texts) call.write({ text });
    call.end();
  });
}

function streamAll<T>(stream: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on('data', (m: T) => out.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

/** Asserts a rejected call's status code and that its details contain `fragment`. */
async function rejects(p: Promise<unknown>, code: grpc.status, fragment: string): Promise<grpc.ServiceError> {
  const err = (await p.then(
    () => expect.fail('call succeeded'),
    (e: unknown) => e,
  )) as grpc.ServiceError;
  expect(grpc.status[err.code]).toBe(grpc.status[code]);
  expect(err.details).toContain(fragment);
  return err;
}

/** An interceptor placed after authInterceptor: edits the signed metadata. */
function editMetadata(edit: (md: grpc.Metadata) => void): grpc.Interceptor {
  return (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(md, listener, go) {
        edit(md);
        go(md, listener);
      },
    });
}

/** An interceptor placed after authInterceptor: edits each message after it was signed. */
function editMessages(edit: (m: EchoRequest) => EchoRequest): grpc.Interceptor {
  return (options, next) =>
    new grpc.InterceptingCall(next(options), {
      sendMessage(m, go) {
        go(edit(m as EchoRequest));
      },
    });
}

describe('secureService + authInterceptor: accepted calls', () => {
  it('passes a signed unary call and hands the handler the caller key and role', async () => {
    const id = identity('client');
    const res = await say([signAs(id)]);
    expect(res.text).toBe('hi');
    expect(toHex(res.caller)).toBe(toHex(id.keyPair.publicKey));
    expect(res.role).toBe('client');
  });

  it('picks the certificate whose role the method allows among several', async () => {
    const key = generateKeyPair();
    const admin = identity('admin', { key });
    const asClient = identity('client', { key });
    const id: Identity = { keyPair: key, certificates: [...asClient.certificates, ...admin.certificates] };
    const res = await say([signAs(id)], { text: 'x' }, new grpc.Metadata(), 'Admin');
    expect(res.role).toBe('admin');
  });

  it('passes a server-streaming call', async () => {
    const id = identity('client');
    const replies = await streamAll(client.Repeat({ text: 'r', count: 3 }, new grpc.Metadata(), { interceptors: [signAs(id)] }));
    expect(replies.map((r) => r.text)).toEqual(['r#0', 'r#1', 'r#2']);
    expect(toHex(replies[0]!.caller)).toBe(toHex(id.keyPair.publicKey));
  });

  it('passes a client-streaming call and delivers every message in order, the first included', async () => {
    const id = identity('client');
    const res = await collect([signAs(id)], ['a', 'b', 'c', 'd']);
    expect(res.text).toBe('a,b,c,d');
    expect(res.messages).toBe(4);
    expect(toHex(res.caller)).toBe(toHex(id.keyPair.publicKey));
  });

  it('passes a client-streaming call that sends no message (signed with NO_MESSAGE_HASH)', async () => {
    const res = await collect([signAs(identity('client'))], []);
    expect(res.messages).toBe(0);
    expect(res.role).toBe('client');
  });

  it('passes a bidi call', async () => {
    const id = identity('client');
    const call = client.Chat(new grpc.Metadata(), { interceptors: [signAs(id)] });
    const all = streamAll(call);
    call.write({ text: 'one' });
    call.write({ text: 'two' });
    call.end();
    expect((await all).map((r) => r.text)).toEqual(['re:one', 're:two']);
  });

  it('passes a bidi call that half-closes without a message (the handler still sees the end)', async () => {
    const call = client.Chat(new grpc.Metadata(), { interceptors: [signAs(identity('client'))] });
    const all = streamAll(call);
    call.end();
    expect(await all).toEqual([]);
  });

  it('accepts a client whose clock is off by less than the allowed skew', async () => {
    const res = await say([signAs(identity('client'), { now: () => Date.now() - 30_000 })]);
    expect(res.role).toBe('client');
  });
});

describe('secureService + authInterceptor: rejections', () => {
  it('rejects a call without credentials: UNAUTHENTICATED', async () => {
    await rejects(say([]), grpc.status.UNAUTHENTICATED, 'missing credentials');
  });

  it('rejects tampered metadata (timestamp changed after signing): UNAUTHENTICATED bad signature', async () => {
    const tamper = editMetadata((md) => md.set(AUTH_METADATA_KEYS.timestamp, String(Number(md.get(AUTH_METADATA_KEYS.timestamp)[0]) + 1)));
    await rejects(say([signAs(identity('client')), tamper]), grpc.status.UNAUTHENTICATED, 'bad request signature');
  });

  it('rejects a message altered after signing: UNAUTHENTICATED bad signature', async () => {
    const tamper = editMessages((m) => ({ ...m, text: `${m.text}!` }));
    await rejects(say([signAs(identity('client')), tamper]), grpc.status.UNAUTHENTICATED, 'bad request signature');
  });

  it('rejects a certificate from an untrusted issuer: UNAUTHENTICATED', async () => {
    const id = identity('client', { signer: stranger });
    await rejects(say([signAs(id)]), grpc.status.UNAUTHENTICATED, 'is not trusted for role client');
  });

  it('rejects an expired certificate: UNAUTHENTICATED', async () => {
    const now = Date.now();
    const id = identity('client', { notBefore: now - 2 * HOUR, notAfter: now - HOUR });
    await rejects(say([signAs(id)]), grpc.status.UNAUTHENTICATED, 'expired at');
  });

  it('rejects a certificate that is not yet valid: UNAUTHENTICATED', async () => {
    const now = Date.now();
    const id = identity('client', { notBefore: now + HOUR, notAfter: now + 2 * HOUR });
    await rejects(say([signAs(id)]), grpc.status.UNAUTHENTICATED, 'not valid until');
  });

  it('rejects a certificate issued to another key: UNAUTHENTICATED', async () => {
    const id = identity('client', { subject: generateKeyPair().publicKey });
    await rejects(say([signAs(id)]), grpc.status.UNAUTHENTICATED, 'subject is not');
  });

  it('rejects a revoked caller: PERMISSION_DENIED', async () => {
    const id = identity('client');
    revoked.add(toHex(id.keyPair.publicKey));
    await rejects(say([signAs(id)]), grpc.status.PERMISSION_DENIED, 'has been revoked');
  });

  it('rejects a role the method does not allow: PERMISSION_DENIED', async () => {
    const err = await rejects(
      say([signAs(identity('client'))], { text: 'x' }, new grpc.Metadata(), 'Admin'),
      grpc.status.PERMISSION_DENIED,
      'with role client may not call Admin',
    );
    expect(fromServiceError(err)).toBeInstanceOf(PermissionError);
  });

  it('rejects a method the policy does not list: PERMISSION_DENIED', async () => {
    await rejects(
      say([signAs(identity('admin'))], { text: 'x' }, new grpc.Metadata(), 'Secret'),
      grpc.status.PERMISSION_DENIED,
      'method Secret is not open to any role',
    );
  });

  it('rejects a timestamp beyond the allowed clock skew: UNAUTHENTICATED', async () => {
    const id = identity('client');
    await rejects(say([signAs(id, { now: () => Date.now() + 5 * 60_000 })]), grpc.status.UNAUTHENTICATED, 'clock skew');
    await rejects(say([signAs(id, { now: () => Date.now() - 5 * 60_000 })]), grpc.status.UNAUTHENTICATED, 'behind the server clock');
  });

  it('rejects a replayed request (same metadata sent again by a raw client): UNAUTHENTICATED', async () => {
    let recorded: grpc.Metadata | undefined;
    const recorder = editMetadata((md) => {
      recorded = md.clone();
    });
    await say([signAs(identity('client')), recorder], { text: 'once' });
    const err = await rejects(say([], { text: 'once' }, recorded!), grpc.status.UNAUTHENTICATED, 'replayed nonce');
    expect(fromServiceError(err)).toBeInstanceOf(AuthenticationError);
  });

  it('checks a client stream on its first message: an altered first message is rejected before the handler sees data', async () => {
    const before = collected.length;
    const tamper = editMessages((m) => ({ ...m, text: `${m.text}!` }));
    await rejects(collect([signAs(identity('client')), tamper], ['a', 'b']), grpc.status.UNAUTHENTICATED, 'bad request signature');
    expect(collected.length).toBe(before);
  });

  it('rejects a bidi call from an untrusted issuer with the status, before the handler runs', async () => {
    const call = client.Chat(new grpc.Metadata(), { interceptors: [signAs(identity('client', { signer: stranger }))] });
    const all = streamAll(call);
    call.write({ text: 'one' });
    call.end();
    await rejects(all, grpc.status.UNAUTHENTICATED, 'is not trusted');
  });
});

/** A second server with the same policy but its own key (and, optionally, bounds), for target and replay-cache tests. */
async function secondServer(extra: Partial<AuthPolicy> = {}): Promise<{ key: KeyPair; client: EchoClient; stop(): Promise<void> }> {
  const key = generateKeyPair();
  const s2 = new grpc.Server();
  const secured = secureService(Echo.service, implementation, { ...policy, serverKey: key.publicKey, ...extra });
  s2.addService(secured.definition, secured.implementation);
  const started = await bindServer(s2, '127.0.0.1:0', key);
  const c2 = pinnedClient<EchoClient>(Echo, { address: started.address, publicKey: key.publicKey });
  return { key, client: c2, stop: async () => (c2.close(), await stopServer(s2, 1000)) };
}

function sayAt(c: EchoClient, interceptors: Interceptors, metadata = new grpc.Metadata(), method: 'Say' | 'Admin' = 'Say'): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    c[method]({ text: 'hi' }, metadata, { interceptors, deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

describe('requests are bound to their server', () => {
  it('refuses at a second server a call signed for the first, replayed with the same bytes and metadata: UNAUTHENTICATED', async () => {
    const other = await secondServer();
    try {
      let recorded: grpc.Metadata | undefined;
      const recorder = editMetadata((md) => {
        recorded = md.clone();
      });
      const id = identity('client');
      await say([signAs(id), recorder]);
      // The second server's replay cache never saw this nonce: only the target check can refuse it.
      const err = await rejects(sayAt(other.client, [], recorded!), grpc.status.UNAUTHENTICATED, 'was signed for server');
      expect(err.details).toContain('not this server');
      // The same caller signing for the second server is served there.
      expect((await sayAt(other.client, [signAs(id, { target: other.key.publicKey })])).role).toBe('client');
    } finally {
      await other.stop();
    }
  });

  it('refuses a call whose named target was rewritten to the receiving server: UNAUTHENTICATED bad signature', async () => {
    const other = await secondServer();
    try {
      const retarget = editMetadata((md) => md.set(AUTH_METADATA_KEYS.target, Buffer.from(other.key.publicKey)));
      await rejects(sayAt(other.client, [signAs(identity('client')), retarget]), grpc.status.UNAUTHENTICATED, 'bad request signature');
    } finally {
      await other.stop();
    }
  });
});

describe('the replay cache is bounded per caller', () => {
  it('refuses a flooding caller past its bound with RESOURCE_EXHAUSTED while other callers are served', async () => {
    const other = await secondServer({ maxNoncesPerCaller: 3 });
    try {
      const flooder = identity('client');
      for (let i = 0; i < 3; i++) await sayAt(other.client, [signAs(flooder, { target: other.key.publicKey })]);
      await rejects(sayAt(other.client, [signAs(flooder, { target: other.key.publicKey })]), grpc.status.RESOURCE_EXHAUSTED, 'too many requests');
      // Everyone else is untouched by the flood.
      for (let i = 0; i < 3; i++) expect((await sayAt(other.client, [signAs(identity('client'), { target: other.key.publicKey })])).role).toBe('client');
    } finally {
      await other.stop();
    }
  });

  it('remembers nothing for calls refused by the role or revocation check, so they cannot fill the cache', async () => {
    const other = await secondServer({ maxNoncesPerCaller: 2 });
    try {
      const key = generateKeyPair();
      const asClient = identity('client', { key });
      // Refused calls: a method its role may not call.
      for (let i = 0; i < 5; i++) {
        await rejects(sayAt(other.client, [signAs(asClient, { target: other.key.publicKey })], new grpc.Metadata(), 'Admin'), grpc.status.PERMISSION_DENIED, 'may not call Admin');
      }
      // A revoked caller's calls are refused before its nonces are stored.
      const gone = identity('client');
      revoked.add(toHex(gone.keyPair.publicKey));
      for (let i = 0; i < 5; i++) await rejects(sayAt(other.client, [signAs(gone, { target: other.key.publicKey })]), grpc.status.PERMISSION_DENIED, 'revoked');
      // Its own bound (2) is still free for allowed calls.
      for (let i = 0; i < 2; i++) expect((await sayAt(other.client, [signAs(asClient, { target: other.key.publicKey })])).role).toBe('client');
    } finally {
      await other.stop();
    }
  });
});

describe('the policy hook (admit)', () => {
  it('refuses with PERMISSION_DENIED and the hook\'s message, runs only after the role check, and remembers no nonce of a refused call', async () => {
    const asked: string[] = [];
    const outsiders = new Set<string>();
    const other = await secondServer({
      maxNoncesPerCaller: 2,
      admit: (p, method) => {
        asked.push(`${p.role} ${p.grid} ${method}`);
        if (outsiders.has(toHex(p.publicKey))) throw new AccessDeniedError('refused-by-policy', `caller ${toHex(p.publicKey).slice(0, 8)} does not speak for grid 202`);
      },
    });
    try {
      const key = generateKeyPair();
      const asClient = identity('client', { key });
      outsiders.add(toHex(key.publicKey));
      for (let i = 0; i < 5; i++) {
        await rejects(sayAt(other.client, [signAs(asClient, { target: other.key.publicKey })]), grpc.status.PERMISSION_DENIED, 'does not speak for grid 202');
      }
      // The role check comes first: a method its role may not call is refused without asking the hook.
      await rejects(sayAt(other.client, [signAs(asClient, { target: other.key.publicKey })], new grpc.Metadata(), 'Admin'), grpc.status.PERMISSION_DENIED, 'may not call Admin');
      expect(asked).toEqual(Array<string>(5).fill('client 101 Say'));
      // Once admitted, its own bound (2) is still free: none of the 5 refused calls stored a nonce.
      outsiders.clear();
      for (let i = 0; i < 2; i++) expect((await sayAt(other.client, [signAs(asClient, { target: other.key.publicKey })])).role).toBe('client');
      await rejects(sayAt(other.client, [signAs(asClient, { target: other.key.publicKey })]), grpc.status.RESOURCE_EXHAUSTED, 'too many requests');
    } finally {
      await other.stop();
    }
  });

  it('ends a client stream refused by the hook before its handler sees a message', async () => {
    const other = await secondServer({
      admit: () => {
        throw new PermissionError('not today');
      },
    });
    try {
      const before = collected.length;
      const p = new Promise<void>((resolve, reject) => {
        const call = other.client.Collect(new grpc.Metadata(), { interceptors: [signAs(identity('client'), { target: other.key.publicKey })] }, (err) =>
          err ? reject(err) : resolve(),
        );
        call.write({ text: 'secret' });
        call.end();
      });
      await rejects(p, grpc.status.PERMISSION_DENIED, 'not today');
      expect(collected.length).toBe(before);
    } finally {
      await other.stop();
    }
  });

  it('turns a hook that throws a non-Intergrid error into INTERNAL, reported to onInternalError', async () => {
    const reported: string[] = [];
    const other = await secondServer({
      admit: () => {
        throw new TypeError('bug in the policy');
      },
      onInternalError: (err, method) => reported.push(`${(err as Error).message} ${method}`),
    });
    try {
      await rejects(sayAt(other.client, [signAs(identity('client'), { target: other.key.publicKey })]), grpc.status.INTERNAL, 'internal error');
      expect(reported).toEqual([`bug in the policy ${Echo.service.Say!.path}`]);
    } finally {
      await other.stop();
    }
  });
});

describe('handler failures after the check', () => {
  it('turns a client-stream handler that throws into INTERNAL, and the server keeps serving', async () => {
    const md = new grpc.Metadata();
    md.set('x-throw', '1');
    const p = new Promise<void>((resolve, reject) => {
      const call = client.Collect(md, { interceptors: [signAs(identity('client'))] }, (err) => (err ? reject(err) : resolve()));
      call.write({ text: 'a' });
      call.end();
    });
    await rejects(p, grpc.status.INTERNAL, 'internal error');
    expect((await say([signAs(identity('client'))])).text).toBe('hi');
  });
});

describe('client interceptor: calls that never send a message', () => {
  it('ends a client stream with DEADLINE_EXCEEDED when the deadline passes before the first write', async () => {
    const p = new Promise<void>((resolve, reject) => {
      client.Collect(new grpc.Metadata(), { interceptors: [signAs(identity('client'))], deadline: Date.now() + 200 }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
    await rejects(p, grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded');
  });

  it('ends a client stream with CANCELLED when cancelled before the first write', async () => {
    const p = new Promise<void>((resolve, reject) => {
      const call = client.Collect(new grpc.Metadata(), { interceptors: [signAs(identity('client'))] }, (err) => (err ? reject(err) : resolve()));
      setImmediate(() => call.cancel());
    });
    await rejects(p, grpc.status.CANCELLED, 'Cancelled');
  });
});

describe('secureService wiring', () => {
  it('refuses a policy that names a method the service does not have', () => {
    expect(() => secureService(Echo.service, implementation, { ...policy, methods: { Sya: ['client'] } })).toThrow(InvalidArgumentError);
  });

  it('keeps `this` for class-based implementations, as grpc-js does', async () => {
    class Impl {
      greeting = 'hello';
      Say(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        cb(null, { text: this.greeting, caller: Buffer.from(principalOf(call).publicKey), role: principalOf(call).role, messages: 1 });
      }
    }
    const s2 = new grpc.Server();
    const secured = secureService(Echo.service, new Impl() as unknown as grpc.UntypedServiceImplementation, policy);
    s2.addService(secured.definition, secured.implementation);
    const started = await bindServer(s2, '127.0.0.1:0', serverKey);
    const c2 = pinnedClient<EchoClient>(Echo, { address: started.address, publicKey: serverKey.publicKey });
    try {
      const res = await new Promise<EchoReply>((resolve, reject) =>
        c2.Say({ text: 'x' }, new grpc.Metadata(), { interceptors: [signAs(identity('client'))] }, (e, r) => (e ? reject(e) : resolve(r!))),
      );
      expect(res.text).toBe('hello');
    } finally {
      c2.close();
      await stopServer(s2, 1000);
    }
  });

  it('principalOf throws InternalError for a call that was not wrapped', () => {
    expect(() => principalOf({})).toThrow(InternalError);
  });
});
