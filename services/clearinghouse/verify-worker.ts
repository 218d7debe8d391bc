/**
 * Worker thread of verify-pool.ts: opens (verifies and reduces) the records
 * it is sent and posts the results back, keyed by the batch id.
 */
import { parentPort } from 'node:worker_threads';
import { openRecord, ReceiptCache, type RawRecord } from './record-opener.js';

const cache = new ReceiptCache();

parentPort?.on('message', (m: { id: number; records: RawRecord[] }) => {
  parentPort?.postMessage({ id: m.id, results: m.records.map((r) => openRecord(r, cache)) });
});
