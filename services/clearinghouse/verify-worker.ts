/**
 * Worker thread of verify-pool.ts: opens (verifies and reduces) the records
 * it is sent and posts the results back, keyed by the batch id.
 */
import { parentPort } from 'node:worker_threads';
import { openRecord, ReceiptCache } from './record-opener.js';
import { unpackRecords, type PackedBatch } from './verify-pool.js';

const cache = new ReceiptCache();

parentPort?.on('message', (m: PackedBatch) => {
  parentPort?.postMessage({ id: m.id, results: unpackRecords(m).map((r) => openRecord(r, cache)) });
});
