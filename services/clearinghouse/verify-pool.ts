/**
 * Verifying reported records (record-opener.ts) for ReportUsage. Ed25519
 * verification is the largest CPU cost of ingest (docs/billing.md
 * "Performance"), so a batch can be spread over worker threads (each
 * transfer's records to the same worker, whose receipt cache then verifies
 * its receipt once, not twice); with 0
 * workers (or when the compiled worker script is absent, e.g. tests running
 * the TypeScript sources) it runs in the calling thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../../libs/errors/index.js';
import { openRecord, ReceiptCache, type OpenResult, type RawRecord } from './record-opener.js';

/** Opens batches of records. */
export interface RecordOpener {
  openAll(records: RawRecord[]): Promise<OpenResult[]>;
  close(): Promise<void>;
}

/** Verification in the calling thread (with its own receipt cache). */
export function inlineOpener(): RecordOpener {
  const cache = new ReceiptCache();
  return {
    openAll: (records) => Promise.resolve(records.map((r) => openRecord(r, cache))),
    close: () => Promise.resolve(),
  };
}

const TRANSFER_ID = /"transferId":"([^"]{1,200})"/;

/**
 * Which worker opens a record: by its transfer id (read with a regex, not
 * parsed; canonical JSON puts it there once, outside the base64 receipt), so
 * both records of a transfer meet the same worker's receipt cache. A record
 * the regex cannot read goes to worker 0 (it is verified all the same).
 */
function workerFor(r: RawRecord, n: number): number {
  const m = TRANSFER_ID.exec(Buffer.from(r.body.buffer, r.body.byteOffset, Math.min(r.body.byteLength, 4096)).toString('latin1'));
  if (!m) return 0;
  let h = 0;
  for (let i = 0; i < m[1]!.length; i++) h = (h * 31 + m[1]!.charCodeAt(i)) | 0;
  return Math.abs(h) % n;
}

/**
 * A batch as sent to a worker: the records' bodies and signatures copied into
 * one buffer that is transferred, not cloned (a decoded request's bodies are
 * views of the whole request, which structured clone would copy per worker).
 */
export interface PackedBatch {
  id: number;
  kinds: string[];
  bytes: ArrayBuffer;
  /** Per record: body length, signature length (in `bytes`, one after the other). */
  lengths: Uint32Array;
}

function packRecords(id: number, records: RawRecord[]): PackedBatch {
  let total = 0;
  for (const r of records) total += r.body.byteLength + r.signature.byteLength;
  const bytes = new Uint8Array(total);
  const lengths = new Uint32Array(2 * records.length);
  let at = 0;
  records.forEach((r, i) => {
    bytes.set(r.body, at);
    at += r.body.byteLength;
    bytes.set(r.signature, at);
    at += r.signature.byteLength;
    lengths[2 * i] = r.body.byteLength;
    lengths[2 * i + 1] = r.signature.byteLength;
  });
  return { id, kinds: records.map((r) => r.kind), bytes: bytes.buffer, lengths };
}

/** The records of a packed batch (views of its buffer). */
export function unpackRecords(b: PackedBatch): RawRecord[] {
  let at = 0;
  return b.kinds.map((kind, i) => {
    const body = Buffer.from(b.bytes, at, b.lengths[2 * i]);
    at += body.byteLength;
    const signature = Buffer.from(b.bytes, at, b.lengths[2 * i + 1]);
    at += signature.byteLength;
    return { kind, body, signature };
  });
}

interface Pending {
  resolve(results: OpenResult[]): void;
  reject(err: Error): void;
}

/** The compiled worker script next to this module (absent when running the TypeScript sources). */
function workerScript(): URL | undefined {
  const url = new URL('./verify-worker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * `workers` verification threads (a batch is split over them by transfer
 * id), or the calling thread when `workers` is 0, the worker script is
 * absent or a worker fails to start; after a worker dies, the calling thread.
 */
export async function startRecordOpener(workers: number): Promise<RecordOpener> {
  const script = workers > 0 ? workerScript() : undefined;
  if (!script) return inlineOpener();
  const pool: Worker[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;
  let broken = false;
  const fallback = inlineOpener();
  for (let i = 0; i < workers; i++) {
    const w = new Worker(script);
    w.on('message', (m: { id: number; results: OpenResult[] }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      p?.resolve(m.results);
    });
    w.on('error', (err) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
    // A worker that died (it should not) is not waited for again: the rest runs in this thread.
    w.on('exit', () => {
      broken = true;
      for (const p of pending.values()) p.reject(new UnavailableError('a record verification worker exited'));
      pending.clear();
    });
    w.unref();
    pool.push(w);
  }
  try {
    await Promise.all(pool.map((w) => new Promise<void>((resolve, reject) => w.once('online', resolve).once('error', reject))));
  } catch {
    await Promise.all(pool.map((w) => w.terminate()));
    return fallback;
  }
  const run = (w: Worker, records: RawRecord[]): Promise<OpenResult[]> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const batch = packRecords(id, records);
      w.postMessage(batch, [batch.bytes]);
    });
  return {
    async openAll(records) {
      if (closed) throw new UnavailableError('record verification is shut down');
      if (broken) return fallback.openAll(records);
      const groups: { index: number[]; records: RawRecord[] }[] = pool.map(() => ({ index: [], records: [] }));
      records.forEach((r, i) => {
        const g = groups[workerFor(r, pool.length)]!;
        g.index.push(i);
        g.records.push(r);
      });
      const out = new Array<OpenResult>(records.length);
      await Promise.all(
        groups.map(async (g, w) => {
          if (g.records.length === 0) return;
          const results = await run(pool[w]!, g.records);
          results.forEach((res, j) => (out[g.index[j]!] = res));
        }),
      );
      return out;
    },
    async close() {
      closed = true;
      broken = true;
      await Promise.all(pool.map((w) => w.terminate()));
    },
  };
}
