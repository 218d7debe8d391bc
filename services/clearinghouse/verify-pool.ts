/**
 * Verifying reported records (record-opener.ts) for ReportUsage. Ed25519
 * verification is the largest CPU cost of ingest (docs/billing.md
 * "Performance"), so a batch can be spread over worker threads; with 0
 * workers (or when the compiled worker script is absent, e.g. tests running
 * the TypeScript sources) it runs in the calling thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../../libs/errors/index.js';
import { openRecord, type OpenResult, type RawRecord } from './record-opener.js';

/** Opens batches of records. */
export interface RecordOpener {
  openAll(records: RawRecord[]): Promise<OpenResult[]>;
  close(): Promise<void>;
}

/** Verification in the calling thread. */
export function inlineOpener(): RecordOpener {
  return {
    openAll: (records) => Promise.resolve(records.map(openRecord)),
    close: () => Promise.resolve(),
  };
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
 * `workers` verification threads (a batch is split evenly over them), or
 * the calling thread when `workers` is 0 or the worker script is absent.
 */
export async function startRecordOpener(workers: number): Promise<RecordOpener> {
  const script = workers > 0 ? workerScript() : undefined;
  if (!script) return inlineOpener();
  const pool: Worker[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;
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
    w.unref();
    pool.push(w);
  }
  await Promise.all(pool.map((w) => new Promise<void>((resolve, reject) => w.once('online', resolve).once('error', reject))));
  const run = (w: Worker, records: RawRecord[]): Promise<OpenResult[]> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      w.postMessage({ id, records });
    });
  return {
    async openAll(records) {
      if (closed) throw new UnavailableError('record verification is shut down');
      // Small batches are not worth a round trip to a thread.
      if (records.length < 8) return records.map(openRecord);
      const per = Math.ceil(records.length / pool.length);
      const parts: Promise<OpenResult[]>[] = [];
      for (let i = 0, w = 0; i < records.length; i += per, w++) parts.push(run(pool[w]!, records.slice(i, i + per)));
      return (await Promise.all(parts)).flat();
    },
    async close() {
      closed = true;
      await Promise.all(pool.map((w) => w.terminate()));
    },
  };
}
