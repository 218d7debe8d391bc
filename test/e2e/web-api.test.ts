/**
 * The web API (services/web, docs/web.md) with real requests against a real
 * in-process grid (test/e2e/fixtures/local-grid.ts: 10 storage servers,
 * 3-of-10, 4 KiB segments): startWebServer in this process with
 * connectGrid(client.json's config), requests over loopback with node:http
 * (fresh connection each, test/e2e/fixtures/web-http.ts) or fetch.
 *
 * Round trips at segment edges, multipart forms, ranges (206/416), ETag and
 * 304, HEAD, verify-caps and ciphertext, bad input, concurrency, readers
 * that go away or stop reading, cut uploads, Host and Origin checks.
 * Failures of the grid itself: web-api-failures.test.ts; long distance:
 * web-api-long-distance.test.ts; the built CLI: web-api-cli.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { capStorageIndex, formatCap, formatStorageIndex, parseCap, toVerifyCap, formatVerifyCap, type ReadCap } from '../../libs/caps/index.js';
import { connectGrid, ciphertextSegments, uploadFile, type GridConnection } from '../../libs/client/index.js';
import { decryptSegment } from '../../libs/format/index.js';
import { startWebServer, type RunningWebServer } from '../../services/web/server.js';
import { startLocalGrid, type LocalGrid } from './fixtures/local-grid.js';
import { getRange, put, rawExchange, request, uriOf } from './fixtures/web-http.js';

const SEG = 4096;
const MiB = 1024 * 1024;

let grid: LocalGrid;
let web: RunningWebServer;
let spool: string;
const logged: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
/** Process warnings (e.g. MaxListenersExceededWarning: listeners piling up per request). */
const warnings: string[] = [];
const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('warning', onWarning);
  grid = await startLocalGrid({ servers: 10, encoding: { segmentSize: SEG } });
  spool = mkdtempSync(join(tmpdir(), 'intergrid-web-spool-'));
  web = await startWebServer({ listen: '127.0.0.1:0', openClient: () => connectGrid(grid.clientConfig), spoolDir: spool, log: (l) => void logged.push(l) });
}, 120_000);

afterAll(async () => {
  await web?.close();
  await grid?.stop();
  if (spool) rmSync(spool, { recursive: true, force: true });
  process.off('unhandledRejection', onUnhandled);
  process.off('warning', onWarning);
  // Nothing the tests did may leave a rejection nobody handled, or listeners that pile up.
  expect(unhandled).toEqual([]);
  expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
});

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** PUT `data`, expecting 201 and a read-cap of this grid. */
async function putOk(data: Uint8Array): Promise<{ text: string; cap: ReadCap }> {
  const { answer, cap } = await put(web.url, data);
  expect(answer.status, answer.body.toString()).toBe(201);
  const parsed = parseCap(cap);
  expect(parsed.kind).toBe('read');
  return { text: cap, cap: parsed as ReadCap };
}

function etagOf(cap: ReadCap, suffix = ''): string {
  return `"${formatStorageIndex(capStorageIndex(cap))}${suffix}"`;
}

/** Share files on every server (all files). */
function shareCount(): number {
  let n = 0;
  for (const s of grid.servers) {
    const root = join(s.dataDir, 'shares');
    let prefixes: string[];
    try {
      prefixes = readdirSync(root);
    } catch {
      continue;
    }
    for (const p of prefixes) for (const si of readdirSync(join(root, p))) n += readdirSync(join(root, p, si)).length;
  }
  return n;
}

async function withConn<T>(fn: (conn: GridConnection) => Promise<T>): Promise<T> {
  const conn = await connectGrid(grid.clientConfig);
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/** One healthy round trip: the server still answers correctly. */
async function expectHealthy(): Promise<void> {
  const data = randomBytes(2 * SEG + 3);
  const { text } = await putOk(data);
  const got = await request(web.url, uriOf(text));
  expect(got.status).toBe(200);
  expect(got.body.equals(data)).toBe(true);
}

// ---------------------------------------------------------------------------------------------------

describe('PUT /uri then GET /uri/CAP', () => {
  for (const size of [0, 1, SEG - 1, SEG, SEG + 1, 3 * MiB + 7]) {
    it(`returns exactly the ${size} bytes put`, async () => {
      const data = randomBytes(size);
      const { answer, cap: text } = await put(web.url, data);
      expect(answer.status).toBe(201);
      expect(answer.headers['content-type']).toMatch(/^text\/plain/);
      expect(answer.headers.location).toBe(uriOf(text));
      const cap = parseCap(text) as ReadCap;
      expect(cap.kind).toBe('read');
      expect(cap.size).toBe(size);
      expect(cap.areaCode).toBe(grid.areaCode);

      const got = await request(web.url, answer.headers.location!);
      expect(got.status).toBe(200);
      expect(got.cut).toBe(false);
      expect(got.headers['content-length']).toBe(String(size));
      expect(got.headers['content-type']).toBe('application/octet-stream');
      expect(got.headers['accept-ranges']).toBe('bytes');
      expect(got.headers['cache-control']).toMatch(/immutable/);
      expect(got.headers['cache-control']).toMatch(/private/);
      expect(got.headers.etag).toBe(etagOf(cap));
      expect(got.body.length).toBe(size);
      expect(sha(got.body)).toBe(sha(data));
    }, 120_000);
  }

  it('leaves no spool file behind', () => {
    expect(readdirSync(spool)).toEqual([]);
  });

  it('answers the cap of the same bytes through fetch too (chunked body, no Content-Length)', async () => {
    const data = randomBytes(5 * SEG + 1);
    // A streamed body: fetch sends it chunked.
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(data.subarray(0, 1000));
        c.enqueue(data.subarray(1000));
        c.close();
      },
    });
    const res = await fetch(`${web.url}/uri`, { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(201);
    const text = (await res.text()).trim();
    const got = await fetch(`${web.url}${uriOf(text)}`);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(data)).toBe(true);
  });
});

describe('POST /uri (multipart form)', () => {
  function form(data: Uint8Array, extra: Record<string, string> = {}, field = 'file'): FormData {
    const f = new FormData();
    for (const [k, v] of Object.entries(extra)) f.append(k, v);
    f.append(field, new Blob([data]), 'name with spaces.bin');
    return f;
  }

  it('uploads the file field (other fields before it are ignored) and answers 201 with the cap', async () => {
    const data = randomBytes(3 * SEG + 5);
    const res = await fetch(`${web.url}/uri`, { method: 'POST', body: form(data, { note: 'ignored', other: 'x' }) });
    expect(res.status).toBe(201);
    const text = (await res.text()).trim();
    expect(res.headers.get('location')).toBe(uriOf(text));
    const got = await request(web.url, uriOf(text));
    expect(got.body.equals(data)).toBe(true);
  });

  it('answers a browser form (Accept: text/html) with 303 to /?uploaded=CAP', async () => {
    const data = randomBytes(SEG + 1);
    const res = await fetch(`${web.url}/uri`, { method: 'POST', body: form(data), headers: { Accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/\?uploaded=/);
    const text = new URL(location, web.url).searchParams.get('uploaded')!;
    const cap = parseCap(text);
    expect(cap.kind).toBe('read');
    const got = await request(web.url, uriOf(text));
    expect(got.body.equals(data)).toBe(true);
  });

  it('uploads an empty file field', async () => {
    const res = await fetch(`${web.url}/uri`, { method: 'POST', body: form(new Uint8Array(0)) });
    expect(res.status).toBe(201);
    const text = (await res.text()).trim();
    expect(parseCap(text).size).toBe(0);
    const got = await request(web.url, uriOf(text));
    expect(got.status).toBe(200);
    expect(got.body.length).toBe(0);
  });

  it('refuses a form without a file field, a non-multipart POST and a broken multipart body with 400', async () => {
    const before = shareCount();
    const noFile = await fetch(`${web.url}/uri`, { method: 'POST', body: form(randomBytes(10), {}, 'other') });
    expect(noFile.status).toBe(400);
    expect(await noFile.text()).toMatch(/'file'/);
    const plain = await request(web.url, '/uri', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: randomBytes(100) });
    expect(plain.status).toBe(400);
    const noBoundary = await request(web.url, '/uri', { method: 'POST', headers: { 'Content-Type': 'multipart/form-data' }, body: 'x' });
    expect(noBoundary.status).toBe(400);
    const truncated = [
      '--XYZ\r\n',
      'Content-Disposition: form-data; name="file"; filename="a"\r\n',
      'Content-Type: application/octet-stream\r\n\r\n',
      'some bytes but never the closing boundary',
    ].join('');
    const cut = await request(web.url, '/uri', { method: 'POST', headers: { 'Content-Type': 'multipart/form-data; boundary=XYZ' }, body: truncated });
    expect(cut.status).toBe(400);
    expect(shareCount()).toBe(before);
    expect(readdirSync(spool)).toEqual([]);
    await expectHealthy();
  });
});

describe('Range', () => {
  const size = 3 * SEG + 100;
  let data: Buffer;
  let text: string;

  beforeAll(async () => {
    data = randomBytes(size);
    text = (await putOk(data)).text;
  });

  const cases: [string, number, number][] = [
    // header, first byte, last byte (inclusive)
    ['bytes=0-0', 0, 0],
    [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
    [`bytes=${SEG - 1}-${SEG}`, SEG - 1, SEG], // across the first segment boundary
    [`bytes=${SEG - 10}-${2 * SEG + 10}`, SEG - 10, 2 * SEG + 10], // spans a whole segment
    [`bytes=${SEG}-${2 * SEG - 1}`, SEG, 2 * SEG - 1], // exactly segment 1
    [`bytes=${2 * SEG}-`, 2 * SEG, size - 1], // a-
    [`bytes=${size - 1}-`, size - 1, size - 1],
    ['bytes=-100', size - 100, size - 1], // suffix inside the tail segment
    [`bytes=-${SEG + 101}`, size - SEG - 101, size - 1], // suffix across a boundary
    [`bytes=-${10 * size}`, 0, size - 1], // suffix longer than the file
    [`bytes=${SEG}-${10 * size}`, SEG, size - 1], // end past EOF clamps
    ['bytes=0-99999999999999999999', 0, size - 1], // an end beyond any integer still clamps
    [`bytes=0-${size - 1}`, 0, size - 1],
  ];

  for (const [header, first, last] of cases) {
    it(`${header} → 206 with bytes ${first}-${last}`, async () => {
      const got = await getRange(web.url, uriOf(text), header);
      expect(got.status, got.body.toString()).toBe(206);
      expect(got.headers['content-range']).toBe(`bytes ${first}-${last}/${size}`);
      expect(got.headers['content-length']).toBe(String(last - first + 1));
      expect(got.headers.etag).toBe(etagOf(parseCap(text) as ReadCap));
      expect(got.body.equals(data.subarray(first, last + 1))).toBe(true);
    });
  }

  const unsatisfiable = [
    `bytes=${size}-`,
    `bytes=${size}-${size + 5}`,
    `bytes=${size + 1000}-`,
    'bytes=0-0,5-9', // several ranges
    'bytes=0-0, -1',
    'bytes=abc',
    'bytes=5-3', // ends before it starts
    'bytes=-0',
    'bytes=',
    'bytes=-',
    'bytes=1.5-2',
    'bytes=--1',
    'items=0-1',
    '0-1',
  ];
  for (const header of unsatisfiable) {
    it(`${header} → 416 with Content-Range: bytes */${size}`, async () => {
      const got = await getRange(web.url, uriOf(text), header);
      expect(got.status).toBe(416);
      expect(got.headers['content-range']).toBe(`bytes */${size}`);
      expect(got.headers['content-type']).toMatch(/^text\/plain/);
      expect(got.body.toString().trim().length).toBeGreaterThan(0);
    });
  }

  it('serves ranges on a 0-byte file as RFC 9110 allows: none is satisfiable but a suffix, which is the (empty) whole', async () => {
    const { text: empty } = await putOk(new Uint8Array(0));
    for (const header of ['bytes=0-0', 'bytes=0-', 'bytes=1-5']) {
      const got = await getRange(web.url, uriOf(empty), header);
      expect(got.status, header).toBe(416);
      expect(got.headers['content-range']).toBe('bytes */0');
    }
    const suffix = await getRange(web.url, uriOf(empty), 'bytes=-5');
    expect(suffix.status).toBe(200);
    expect(suffix.headers['content-length']).toBe('0');
    expect(suffix.body.length).toBe(0);
  });

  it('answers HEAD with a Range like the GET, without a body', async () => {
    const got = await request(web.url, uriOf(text), { method: 'HEAD', headers: { Range: `bytes=${SEG - 1}-${SEG}` } });
    expect(got.status).toBe(206);
    expect(got.headers['content-range']).toBe(`bytes ${SEG - 1}-${SEG}/${size}`);
    expect(got.headers['content-length']).toBe('2');
    expect(got.body.length).toBe(0);
    const bad = await request(web.url, uriOf(text), { method: 'HEAD', headers: { Range: `bytes=${size}-` } });
    expect(bad.status).toBe(416);
  });
});

describe('caching headers', () => {
  let text: string;
  let cap: ReadCap;

  beforeAll(async () => {
    ({ text, cap } = await putOk(randomBytes(2 * SEG)));
  });

  it('ETag is the quoted storage index (the verify-cap names the same one)', async () => {
    const got = await request(web.url, uriOf(text));
    const si = formatStorageIndex(capStorageIndex(cap));
    expect(got.headers.etag).toBe(`"${si}"`);
    expect(formatVerifyCap(toVerifyCap(cap))).toContain(si);
  });

  it('If-None-Match with the ETag answers 304 without a body, as a list member or a weak tag too', async () => {
    for (const inm of [etagOf(cap), `"other", ${etagOf(cap)}`, `W/${etagOf(cap)}`, '*']) {
      const got = await request(web.url, uriOf(text), { headers: { 'If-None-Match': inm } });
      expect(got.status, inm).toBe(304);
      expect(got.body.length).toBe(0);
      expect(got.headers.etag).toBe(etagOf(cap));
      expect(got.headers['cache-control']).toMatch(/immutable/);
    }
  });

  it('If-None-Match with another tag answers 200 with the file', async () => {
    for (const inm of ['"nope"', etagOf(cap, '.c'), etagOf(cap).slice(0, -2) + '"']) {
      const got = await request(web.url, uriOf(text), { headers: { 'If-None-Match': inm } });
      expect(got.status, inm).toBe(200);
      expect(got.body.length).toBe(2 * SEG);
    }
  });

  it('?filename= adds an attachment Content-Disposition with a safe ASCII name and the exact UTF-8 one', async () => {
    const name = `rapport d'été (final)*.pdf`;
    const got = await request(web.url, uriOf(text, `?filename=${encodeURIComponent(name)}`));
    expect(got.status).toBe(200);
    const cd = got.headers['content-disposition']!;
    expect(cd).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
    const ext = /filename\*=UTF-8''(.*)$/.exec(cd)![1]!;
    // RFC 8187 attr-chars only: no quote, parenthesis, star or space left unencoded.
    expect(ext).toMatch(/^[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
    expect(decodeURIComponent(ext)).toBe(name);
    const slash = await request(web.url, uriOf(text, `?filename=${encodeURIComponent('../../etc/passwd')}`));
    expect(slash.headers['content-disposition']).not.toMatch(/\//);
  });
});

describe('HEAD /uri/CAP', () => {
  it('answers the headers of the GET, without a body', async () => {
    const data = randomBytes(SEG + 7);
    const { text, cap } = await putOk(data);
    const head = await request(web.url, uriOf(text), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(data.length));
    expect(head.headers.etag).toBe(etagOf(cap));
    expect(head.headers['accept-ranges']).toBe('bytes');
    const get = await request(web.url, uriOf(text));
    for (const h of ['content-length', 'etag', 'cache-control', 'content-type', 'accept-ranges']) expect(head.headers[h], h).toBe(get.headers[h]);
  });
});

describe('verify-caps and ciphertext', () => {
  const size = 4 * SEG + 33;
  let data: Buffer;
  let cap: ReadCap;
  let verifyText: string;
  let ciphertext: Buffer;

  beforeAll(async () => {
    data = randomBytes(size);
    cap = (await putOk(data)).cap;
    verifyText = formatVerifyCap(toVerifyCap(cap));
    // What the client library itself reads and verifies.
    ciphertext = await withConn(async (conn) => {
      const parts: Buffer[] = [];
      for await (const seg of ciphertextSegments(conn, toVerifyCap(cap))) parts.push(Buffer.from(seg.ciphertext));
      return Buffer.concat(parts);
    });
    expect(ciphertext.length).toBe(size);
  });

  it('a verify-cap without ?format=ciphertext is 400 (it has no key)', async () => {
    const got = await request(web.url, uriOf(verifyText));
    expect(got.status).toBe(400);
    expect(got.body.toString()).toMatch(/format=ciphertext/);
    const plain = await request(web.url, uriOf(verifyText, '?format=plaintext'));
    expect(plain.status).toBe(400);
    const bogus = await request(web.url, uriOf(verifyText, '?format=rot13'));
    expect(bogus.status).toBe(400);
  });

  it('a verify-cap with ?format=ciphertext answers exactly the verified ciphertext, which decrypts to the plaintext', async () => {
    const got = await request(web.url, uriOf(verifyText, '?format=ciphertext'));
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe(String(size));
    expect(got.headers.etag).toBe(etagOf(cap, '.c'));
    expect(got.body.equals(ciphertext)).toBe(true);
    expect(got.body.equals(data)).toBe(false);
    const plain: Buffer[] = [];
    for (let i = 0; i * SEG < size; i++) plain.push(Buffer.from(decryptSegment(cap.readKey, i, got.body.subarray(i * SEG, (i + 1) * SEG))));
    expect(Buffer.concat(plain).equals(data)).toBe(true);
  });

  it('a read-cap with ?format=ciphertext answers the same ciphertext; ranges apply to it', async () => {
    const got = await request(web.url, uriOf(formatCap(cap), '?format=ciphertext'));
    expect(got.status).toBe(200);
    expect(got.body.equals(ciphertext)).toBe(true);
    const part = await getRange(web.url, uriOf(verifyText, '?format=ciphertext'), `bytes=${SEG - 2}-${SEG + 1}`);
    expect(part.status).toBe(206);
    expect(part.body.equals(ciphertext.subarray(SEG - 2, SEG + 2))).toBe(true);
  });

  it('HEAD and If-None-Match work on the ciphertext too', async () => {
    const head = await request(web.url, uriOf(verifyText, '?format=ciphertext'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(size));
    const cached = await request(web.url, uriOf(verifyText, '?format=ciphertext'), { headers: { 'If-None-Match': etagOf(cap, '.c') } });
    expect(cached.status).toBe(304);
  });
});

describe('bad caps', () => {
  it('a string that is not a cap is 400 with a one-line reason', async () => {
    for (const path of [uriOf('URI:CHK:nope'), uriOf('hello'), '/uri/%zz', uriOf('URI:CHK-Verifier:x:y:3:10:5'), '/uri/' + 'A'.repeat(5000)]) {
      const got = await request(web.url, path);
      expect(got.status, path).toBe(400);
      expect(got.headers['content-type']).toMatch(/^text\/plain/);
      const body = got.body.toString();
      expect(body.endsWith('\n')).toBe(true);
      expect(body.trim()).not.toContain('\n');
    }
  });

  it('a valid cap of a file never uploaded is 404', async () => {
    const text = formatCap({ kind: 'read', readKey: randomBytes(32), uebHash: randomBytes(32), k: 3, n: 10, size: 5000, areaCode: grid.areaCode });
    const got = await request(web.url, uriOf(text));
    expect(got.status).toBe(404);
    const ct = await request(web.url, uriOf(formatVerifyCap(toVerifyCap(parseCap(text))), '?format=ciphertext'));
    expect(ct.status).toBe(404);
    // An empty file that was never uploaded is not "found" either.
    const empty = formatCap({ kind: 'read', readKey: randomBytes(32), uebHash: randomBytes(32), k: 3, n: 10, size: 0, areaCode: grid.areaCode });
    expect((await request(web.url, uriOf(empty))).status).toBe(404);
  });

  it('a cap whose UEB hash is altered (shares exist, none matches) is 502, not the bytes', async () => {
    const { cap } = await putOk(randomBytes(SEG + 1));
    const altered = formatCap({ ...cap, uebHash: randomBytes(32) });
    const got = await request(web.url, uriOf(altered));
    expect(got.status).toBe(502);
  });

  it('a cap of another area code with no gateway configured is 409', async () => {
    const text = formatCap({ kind: 'read', readKey: randomBytes(32), uebHash: randomBytes(32), k: 3, n: 10, size: 10, areaCode: '999' });
    const got = await request(web.url, uriOf(text));
    expect(got.status).toBe(409);
    expect(got.body.toString()).toMatch(/gateway/);
  });
});

describe('concurrency', () => {
  it('serves 8 downloads at once, each exact', async () => {
    const files = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const data = randomBytes(40 * SEG + i * 1111);
        return { data, text: (await putOk(data)).text };
      }),
    );
    const jobs = Array.from({ length: 8 }, (_, j) => {
      const f = files[j % files.length]!;
      if (j < 4) return request(web.url, uriOf(f.text)).then((got) => ({ got, want: f.data }));
      const from = j * 1000;
      return getRange(web.url, uriOf(f.text), `bytes=${from}-`).then((got) => ({ got, want: f.data.subarray(from) }));
    });
    for (const { got, want } of await Promise.all(jobs)) {
      expect(got.status).toBeLessThan(300);
      expect(got.cut).toBe(false);
      expect(got.body.equals(want)).toBe(true);
    }
  }, 120_000);

  it('serves several uploads at once', async () => {
    const datas = Array.from({ length: 4 }, (_, i) => randomBytes(3 * SEG + i));
    const caps = await Promise.all(datas.map((d) => putOk(d)));
    for (let i = 0; i < datas.length; i++) expect((await request(web.url, uriOf(caps[i]!.text))).body.equals(datas[i]!)).toBe(true);
  }, 120_000);
});

describe('readers that go away or stop reading', () => {
  let big: Buffer;
  let bigText: string;

  beforeAll(async () => {
    big = randomBytes(3 * MiB);
    bigText = (await putOk(big)).text;
  }, 120_000);

  it('a client that disconnects mid-stream leaves the server healthy (no log line, nothing unhandled)', async () => {
    const loggedBefore = logged.length;
    for (let round = 0; round < 3; round++) {
      await new Promise<void>((resolve) => {
        const req = httpRequest(new URL(uriOf(bigText), web.url), { agent: false }, (res) => {
          expect(res.statusCode).toBe(200);
          let got = 0;
          res.on('data', (d: Buffer) => {
            got += d.length;
            if (got > 64 * 1024) req.destroy();
          });
          res.on('error', () => undefined);
          res.on('close', () => resolve());
        });
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        req.end();
      });
    }
    // A reader gone before any byte came back, too.
    const sock = connect(Number(new URL(web.url).port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(`GET ${uriOf(bigText)} HTTP/1.1\r\nHost: ${new URL(web.url).host}\r\n\r\n`);
    sock.destroy();

    const got = await request(web.url, uriOf(bigText));
    expect(got.status).toBe(200);
    expect(got.body.equals(big)).toBe(true);
    await expectHealthy();
    expect(logged.slice(loggedBefore)).toEqual([]);
    expect(unhandled).toEqual([]);
  }, 120_000);

  it('a client that stops reading does not make the server buffer the file; it resumes to the exact bytes', async () => {
    // 16 MiB in 64 KiB segments (uploaded by the library: the web server's config says 4 KiB).
    const size = 16 * MiB;
    const data = randomBytes(size);
    const path = join(grid.dir, 'paused-reader');
    writeFileSync(path, data);
    const text = await withConn(async (conn) => (await uploadFile(conn, path, { encoding: { segmentSize: 64 * 1024 } })).capText);
    rmSync(path);

    const serverSockets: Socket[] = [];
    const onConn = (s: Socket) => void serverSockets.push(s);
    web.server.on('connection', onConn);
    const client = connect(Number(new URL(web.url).port), '127.0.0.1');
    try {
      await new Promise((r) => client.once('connect', r));
      client.pause(); // never read until told
      client.write(`GET ${uriOf(text)} HTTP/1.1\r\nHost: ${new URL(web.url).host}\r\nConnection: close\r\n\r\n`);
      // Wait until the server's socket stops taking bytes (its writes block on the full kernel buffers).
      let last = -1;
      let still = 0;
      for (let polls = 0; still < 10 && polls < 600; polls++) {
        await new Promise((r) => setTimeout(r, 100));
        const s = serverSockets[serverSockets.length - 1];
        const now = s?.bytesWritten ?? 0;
        still = now === last && now > 0 ? still + 1 : 0;
        last = now;
      }
      const s = serverSockets[serverSockets.length - 1]!;
      // Kernel buffers on loopback hold a few MiB (about 5 seen here): far less than the file.
      expect(s.bytesWritten).toBeGreaterThan(0);
      expect(s.bytesWritten).toBeLessThan(size - 6 * MiB);
      // Nothing piles up in the server's own buffers either.
      expect(s.writableLength).toBeLessThan(2 * MiB);

      // Now read it all.
      const parts: Buffer[] = [];
      const ended = new Promise<void>((resolve) => {
        client.on('end', resolve);
        client.on('close', () => resolve());
      });
      client.on('data', (d: Buffer) => parts.push(d));
      client.resume();
      await ended;
      const raw = Buffer.concat(parts);
      const split = raw.indexOf('\r\n\r\n');
      const head = raw.subarray(0, split).toString('latin1');
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head).toMatch(new RegExp(`content-length: ${size}`, 'i'));
      const body = raw.subarray(split + 4);
      expect(body.length).toBe(size);
      expect(sha(body)).toBe(sha(data));
      // Every wait for 'drain' cleaned up after itself (no listener left per wait on the request's abort signal).
      expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
    } finally {
      web.server.off('connection', onConn);
      client.destroy();
    }
    await expectHealthy();
  }, 180_000);
});

describe('uploads cut short', () => {
  async function cutUpload(headers: string, sent: Uint8Array): Promise<string> {
    const sock = connect(Number(new URL(web.url).port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let answer = '';
    sock.setEncoding('latin1').on('data', (d: string) => (answer += d));
    sock.on('error', () => undefined);
    await new Promise<void>((r) => sock.write(headers, () => r()));
    await new Promise<void>((r) => sock.write(sent, () => r()));
    // Let the server spool what came, then vanish.
    await new Promise((r) => setTimeout(r, 200));
    sock.destroy();
    return answer;
  }

  it('a PUT whose body ends before its Content-Length uploads nothing and leaves the server healthy', async () => {
    const before = shareCount();
    const host = new URL(web.url).host;
    const answer = await cutUpload(`PUT /uri HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${MiB}\r\n\r\n`, randomBytes(300 * 1024));
    expect(answer).not.toMatch(/URI:CHK:/);
    // Give the server a moment to notice; then nothing must have reached the grid.
    await expectHealthy();
    const afterHealthy = shareCount();
    // expectHealthy uploaded one file (10 shares); the cut upload none.
    expect(afterHealthy - before).toBe(10);
    expect(readdirSync(spool)).toEqual([]);
  });

  it('a chunked PUT cut mid-chunk, and a multipart POST cut mid-file, upload nothing', async () => {
    const before = shareCount();
    const host = new URL(web.url).host;
    const chunk = randomBytes(64 * 1024);
    const a = await cutUpload(`PUT /uri HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n${(128 * 1024).toString(16)}\r\n`, chunk);
    expect(a).not.toMatch(/URI:CHK:/);
    const formHead = `--B\r\nContent-Disposition: form-data; name="file"; filename="f"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const b = await cutUpload(
      `POST /uri HTTP/1.1\r\nHost: ${host}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: ${MiB}\r\n\r\n${formHead}`,
      chunk,
    );
    expect(b).not.toMatch(/URI:CHK:/);
    await expectHealthy();
    expect(shareCount() - before).toBe(10);
    expect(readdirSync(spool)).toEqual([]);
  });
});

describe('who may ask', () => {
  it('a Host header of another name is 421; localhost and 127.0.0.1 with the port are answered', async () => {
    const { port } = new URL(web.url);
    const data = randomBytes(100);
    const { text } = await putOk(data);
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`, '127.0.0.1', `attacker.localhost:${port}`]) {
      const got = await request(web.url, uriOf(text), { headers: { Host: host } });
      expect(got.status, host).toBe(421);
      const up = await request(web.url, '/uri', { method: 'PUT', headers: { Host: host }, body: data });
      expect(up.status, host).toBe(421);
    }
    for (const host of [`localhost:${port}`, `LOCALHOST:${port}`, `127.0.0.1:${port}`]) {
      const got = await request(web.url, uriOf(text), { headers: { Host: host } });
      expect(got.status, host).toBe(200);
      expect(got.body.equals(data)).toBe(true);
    }
  });

  it('an upload with a foreign Origin is 403 and stores nothing; with the server’s own Origin it is 201', async () => {
    const { host } = new URL(web.url);
    const before = shareCount();
    for (const origin of ['http://evil.example', 'null', `https://${host}`, `http://${host}.evil.example`]) {
      const got = await request(web.url, '/uri', { method: 'PUT', headers: { Origin: origin }, body: randomBytes(10) });
      expect(got.status, origin).toBe(403);
      const form = await request(web.url, '/uri', {
        method: 'POST',
        headers: { Origin: origin, 'Content-Type': 'multipart/form-data; boundary=B' },
        body: `--B\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nx\r\n--B--\r\n`,
      });
      expect(form.status, origin).toBe(403);
    }
    expect(shareCount()).toBe(before);
    const own = await request(web.url, '/uri', { method: 'PUT', headers: { Origin: web.url }, body: randomBytes(10) });
    expect(own.status).toBe(201);
    const viaLocalhost = await request(web.url, '/uri', {
      method: 'PUT',
      headers: { Host: `localhost:${new URL(web.url).port}`, Origin: `http://localhost:${new URL(web.url).port}` },
      body: randomBytes(10),
    });
    expect(viaLocalhost.status).toBe(201);
    // A download is not an upload: another site's Origin does not matter there (it cannot read the answer).
    const got = await request(web.url, uriOf(own.body.toString().trim()), { headers: { Origin: 'http://evil.example' } });
    expect(got.status).toBe(200);
  });
});

describe('routing and bad input', () => {
  it('an unknown path is 404', async () => {
    for (const path of ['/nope', '/uri-x', '/URI/x', '/static/../../etc/passwd']) {
      const got = await request(web.url, path);
      expect(got.status, path).toBe(404);
    }
  });

  it('a method a path does not take is 405 with Allow', async () => {
    const { text } = await putOk(randomBytes(10));
    const cases: [string, string, string][] = [
      ['GET', '/uri', 'PUT, POST'],
      ['DELETE', '/uri', 'PUT, POST'],
      ['PUT', uriOf(text), 'GET, HEAD'],
      ['POST', uriOf(text), 'GET, HEAD'],
      ['DELETE', uriOf(text), 'GET, HEAD'],
      ['OPTIONS', uriOf(text), 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const got = await request(web.url, path, { method });
      expect(got.status, `${method} ${path}`).toBe(405);
      expect(got.headers.allow).toBe(allow);
    }
  });

  it('malformed requests never crash the server', async () => {
    const host = new URL(web.url).host;
    const answers: string[] = [];
    const garbage = [
      'garbage\r\n\r\n',
      'GET\r\n\r\n',
      `GET /uri/%E0%A4%A HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      `GET http://[::1/uri/x HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      `GET //evil.example/uri/x HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      `GET /uri/x HTTP/1.1\r\nHost: ${host}\r\nRange: ${'bytes='.padEnd(20_000, '9')}\r\n\r\n`,
      `PUT /uri HTTP/1.1\r\nHost: ${host}\r\nContent-Length: -5\r\n\r\n`,
      `PUT /uri HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
      `POST /uri HTTP/1.1\r\nHost: ${host}\r\nContent-Type: multipart/form-data; boundary=\r\nContent-Length: 3\r\n\r\nabc`,
      `POST /uri HTTP/1.1\r\nHost: ${host}\r\nContent-Type: multipart/form-data; boundary=${'x'.repeat(200)}\r\nContent-Length: 3\r\n\r\nabc`,
      `GET /uri/${encodeURIComponent('URI:CHK:' + 'a'.repeat(52) + ':' + 'b'.repeat(52) + ':3:10:99999999999999999999')} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      `GET /uri/x HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'y'.repeat(100_000)}\r\n\r\n`,
      `GET /uri/x?format=ciphertext&format=plaintext HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      `GET /uri/x HTTP/1.1\r\n\r\n`,
      '\x00\x01\x02\xff\r\n\r\n',
    ];
    for (const g of garbage) answers.push(await rawExchange(web.url, g, 3_000));
    for (const [i, a] of answers.entries()) {
      // Either a 4xx (Node's own 400/431 or ours) or a closed connection; never a 5xx or a crash.
      if (a !== '') expect(a, JSON.stringify(garbage[i]!.slice(0, 80))).toMatch(/^HTTP\/1\.1 4\d\d /);
    }
    await expectHealthy();
  }, 120_000);

  it('a keep-alive connection carries several requests (an error answer does not poison it)', async () => {
    const data = randomBytes(SEG + 5);
    const { text } = await putOk(data);
    const host = new URL(web.url).host;
    const one = `GET ${uriOf(text)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const bad = `GET /uri/nope HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const last = `GET ${uriOf(text)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    const out = await rawExchange(web.url, one + bad + last, 10_000);
    expect(out.match(/HTTP\/1\.1 200 /g)?.length).toBe(2);
    expect(out.match(/HTTP\/1\.1 400 /g)?.length).toBe(1);
  });
});
