/**
 * The web API long distance (docs/web.md "Long distance"): a real
 * federation in this process (test/e2e/fixtures/federation.ts: a
 * clearinghouse, grids 101 and 102 with gateways and contact points, 4 KiB
 * segments). A file put through grid 101's web server is fetched through a
 * web server of a grid-102 client, i.e. through 102's gateway and 101's
 * contact points, whole, in ranges and as ciphertext.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { formatCap, formatVerifyCap, parseCap, toVerifyCap, type ReadCap } from '../../libs/caps/index.js';
import { connectGrid, ciphertextSegments, type ClientConfig } from '../../libs/client/index.js';
import { startWebServer, type RunningWebServer } from '../../services/web/server.js';
import { startFederation, type Federation } from './fixtures/federation.js';
import { getRange, put, request, uriOf } from './fixtures/web-http.js';

const SEG = 4096;
const A = '101';
const B = '102';

let fed: Federation;
let webA: RunningWebServer;
let webB: RunningWebServer;
/** A web server of a grid-102 client whose config names no gateway. */
let webNoGateway: RunningWebServer;

const serve = (config: ClientConfig): Promise<RunningWebServer> =>
  startWebServer({ listen: '127.0.0.1:0', openClient: () => connectGrid(config), log: () => undefined });

beforeAll(async () => {
  fed = await startFederation({ grids: 2, encoding: { segmentSize: SEG } });
  webA = await serve(fed.grid(A).clientConfig);
  webB = await serve((await fed.grid(B).addClient({ name: 'web-b' })).config);
  const { gateway: _gateway, ...noGateway } = fed.grid(B).clientConfig;
  webNoGateway = await serve(noGateway);
}, 180_000);

afterAll(async () => {
  await webA?.close();
  await webB?.close();
  await webNoGateway?.close();
  await fed?.stop();
});

describe('a cap of grid 101 through a grid-102 web server', () => {
  const size = 5 * SEG + 77;
  let data: Buffer;
  let text: string;
  let cap: ReadCap;

  beforeAll(async () => {
    data = randomBytes(size);
    const up = await put(webA.url, data);
    expect(up.answer.status).toBe(201);
    text = up.cap;
    cap = parseCap(text) as ReadCap;
    expect(cap.areaCode).toBe(A);
  });

  it('answers the exact bytes through the home gateway', async () => {
    const before = fed.grid(B).fetches.length;
    const got = await request(webB.url, uriOf(text));
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe(String(size));
    expect(got.body.equals(data)).toBe(true);
    // It really went long distance: grid 102's gateway fetched it.
    expect(fed.grid(B).fetches.length).toBeGreaterThan(before);
  });

  it('answers ranges at and across segment edges with 206', async () => {
    const ranges: [string, number, number][] = [
      [`bytes=${SEG - 1}-${SEG}`, SEG - 1, SEG],
      [`bytes=${2 * SEG}-${3 * SEG - 1}`, 2 * SEG, 3 * SEG - 1],
      ['bytes=-77', size - 77, size - 1],
      [`bytes=${4 * SEG + 5}-`, 4 * SEG + 5, size - 1],
      ['bytes=0-0', 0, 0],
    ];
    for (const [header, first, last] of ranges) {
      const got = await getRange(webB.url, uriOf(text), header);
      expect(got.status, header).toBe(206);
      expect(got.headers['content-range']).toBe(`bytes ${first}-${last}/${size}`);
      expect(got.body.equals(data.subarray(first, last + 1)), header).toBe(true);
    }
    const bad = await getRange(webB.url, uriOf(text), `bytes=${size}-`);
    expect(bad.status).toBe(416);
  });

  it('answers the verified ciphertext of its verify-cap, the same grid 101 reads', async () => {
    const vtext = formatVerifyCap(toVerifyCap(cap));
    const got = await request(webB.url, uriOf(vtext, '?format=ciphertext'));
    expect(got.status).toBe(200);
    const conn = await connectGrid(fed.grid(A).clientConfig);
    const parts: Buffer[] = [];
    try {
      for await (const seg of ciphertextSegments(conn, toVerifyCap(cap))) parts.push(Buffer.from(seg.ciphertext));
    } finally {
      conn.close();
    }
    expect(got.body.equals(Buffer.concat(parts))).toBe(true);
  });

  it('a client without a gateway in its config gets 409 naming it', async () => {
    const got = await request(webNoGateway.url, uriOf(text));
    expect(got.status).toBe(409);
    expect(got.body.toString()).toMatch(/gateway/);
  });

  it('a long-distance cap of a file never uploaded is an error with the remote reason, never bytes', async () => {
    const never = { ...cap, readKey: randomBytes(32) };
    const got = await request(webB.url, uriOf(formatCap(never)));
    // The gateway reports "every contact point failed" (each said: no shares found) as unavailable,
    // so this is 503 today; 404 would be more exact (services/gateway, not the web layer).
    expect([404, 503], got.body.toString()).toContain(got.status);
    expect(got.body.toString()).toMatch(/no shares found/);
  });
});
