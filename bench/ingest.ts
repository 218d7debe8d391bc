/**
 * Clearinghouse ingest rate (issue 5 "Performance"): signed usage records per
 * second, verified and posted, on SQLite. A real clearinghouse (gRPC on
 * loopback, SQLite in a temp dir) receives N transfers = 2N pre-signed
 * records (a gateway's receipts and a contact point's served records, each
 * carrying its receipt) in batches over gRPC, both reporters at once. Every
 * record must come back ACCEPTED and every transfer posted.
 *
 * What limits it is measured by taking the pipeline apart, in CPU time
 * (process.cpuUsage, so a busy machine does not distort the split):
 *   verify  — record-opener on every record in one thread (Ed25519 + JSON + zod)
 *   store   — LedgerStore.ingest of already-verified records (knex + SQLite), no gRPC
 *   end to end, with verification in the request thread and in worker threads
 * gRPC and the rest ≈ end to end (1 thread) − verify − store.
 *
 * The end-to-end runs are made twice: with the reporting clients in the
 * clearinghouse's process (CPU = both), and in a child process (CPU = the
 * clearinghouse's process alone, as a real one spends it; the two processes
 * still share this machine's cores).
 *
 * Run alone: `node dist/bench/ingest.js` (BENCH_INGEST_TRANSFERS, default 20000),
 * or as part of `npm run bench` (bench/run.ts).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { issueCertificate, validityWindow, type Identity } from '../libs/auth/index.js';
import { generateKeyPair, toHex, type KeyPair } from '../libs/crypto/index.js';
import { openDatabase } from '../libs/db/index.js';
import { connectClearinghouse } from '../libs/federation/index.js';
import { embedReceipt, RECEIPT_VERSION, receiptRecordId, SERVED_VERSION, servedRecordId, signReceipt, signServedRecord } from '../libs/usage/index.js';
import { pino } from 'pino';
import { initClearinghouse, loadClearinghouseAdmin, loadClearinghouseConfig, startClearinghouse, connectLedger, type UsageRecordInput } from '../services/clearinghouse/index.js';
import { clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE } from '../services/clearinghouse/migrations.js';
import { GridStore } from '../services/clearinghouse/grid-store.js';
import { LedgerStore, type IngestRecord } from '../services/clearinghouse/ledger-store.js';
import { openRecord, ReceiptCache } from '../services/clearinghouse/record-opener.js';

export interface IngestFigure {
  transfers: number;
  records: number;
  batch: number;
  /** End to end over gRPC, records/s, verification in worker threads. */
  recordsPerSecond: number;
  workers: number;
  /** Requests in flight per reporter. */
  inFlight: number;
  /** End to end over gRPC, records/s, verification in the request thread. */
  recordsPerSecondOneThread: number;
  /** CPU µs per record (all threads, including the reporting clients in this process), with workers. */
  cpuUsPerRecord: number;
  /** CPU µs per record, everything in one thread. */
  cpuUsPerRecordOneThread: number;
  /**
   * The same two runs with the reporting clients in a child process (as in a
   * federation, where gateways and contact points are other machines): the
   * clearinghouse process alone is timed for CPU; both processes still share
   * this machine's cores.
   */
  separate: { recordsPerSecond: number; recordsPerSecondOneThread: number; cpuUsPerRecord: number; cpuUsPerRecordOneThread: number };
  /** CPU µs per record: signature verification + parsing (record-opener, receipt cache: 2 verifications per transfer). */
  verifyUsPerRecord: number;
  /** CPU µs per record: LedgerStore.ingest (knex + SQLite, incl. the SQLite thread) of verified records. */
  storeUsPerRecord: number;
  /** CPU µs per record in one thread, minus verify and store: gRPC, protobuf, request auth, checks, the clients. */
  restUsPerRecord: number;
  /** Load average (1 min) when the bench started: above the core count, the wall-clock figures are understated. */
  loadAverage: number;
}

const PRICE = 1000;

interface Parties {
  gwKey: KeyPair;
  cpKey: KeyPair;
  gw: Identity;
  cp: Identity;
}

/** 2 × transfers signed records: [receipts, served records] (served embeds the same signed receipt). */
function signRecords(p: Parties, transfers: number, asOf: number): { receipts: UsageRecordInput[]; served: UsageRecordInput[] } {
  const receipts: UsageRecordInput[] = [];
  const served: UsageRecordInput[] = [];
  const gateway = toHex(p.gwKey.publicKey);
  const contactPoint = toHex(p.cpKey.publicKey);
  const storageIndex = '00112233445566778899aabbccddeeff';
  for (let i = 0; i < transfers; i++) {
    const transferId = `bench-${i}`;
    const bytes = 1 + ((i * 104_729) % 8_388_608);
    const receipt = signReceipt(
      {
        version: RECEIPT_VERSION,
        recordId: receiptRecordId(gateway, transferId),
        transferId,
        storageIndex,
        ranges: [{ offset: 0, length: bytes }],
        bytes,
        priceUnitsPerGib: PRICE,
        priceAsOfMs: asOf,
        exporter: '101',
        importer: '102',
        gateway,
        contactPoint,
        atMs: asOf,
      },
      p.gwKey,
    );
    receipts.push({ kind: 'receipt', ...receipt });
    const s = signServedRecord(
      {
        version: SERVED_VERSION,
        recordId: servedRecordId(gateway, transferId),
        transferId,
        storageIndex,
        bytes,
        exporter: '101',
        importer: '102',
        gateway,
        contactPoint,
        startedAtMs: asOf,
        atMs: asOf,
        receipt: embedReceipt(receipt),
      },
      p.cpKey,
    );
    served.push({ kind: 'served', ...s });
  }
  return { receipts, served };
}

/** Runs at most `n` tasks at once; `free()` resolves when a slot is available. */
function slots(n: number): ((task: () => Promise<void>) => Promise<void>) & { free(): Promise<void> } {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  const run = async (task: () => Promise<void>) => {
    while (running >= n) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      await task();
    } finally {
      release();
    }
  };
  return Object.assign(run, {
    async free() {
      while (running >= n) await new Promise<void>((r) => waiting.push(r));
    },
  });
}

/** What a reporting run needs (sent to the child process as a structured clone). */
interface ReportJob {
  address: string;
  /** The clearinghouse key: its TLS pin and the target the records' calls are signed for. */
  clearinghouseKey: Uint8Array;
  gw: Identity;
  cp: Identity;
  receipts: UsageRecordInput[];
  served: UsageRecordInput[];
  batch: number;
  inFlight: number;
}

/**
 * Sends every record; returns the wall-clock seconds. Both reporters at once,
 * up to `inFlight` batches each (as many gateways and contact points report
 * at once in a federation); a transfer's served record goes after its
 * receipt was acknowledged (as in a grid: the contact point reports after the
 * gateway's receipt reached it).
 */
async function report(job: ReportJob): Promise<number> {
  const gwConn = connectLedger(job.address, job.gw, { deadlineMs: 120_000, clearinghousePublicKey: job.clearinghouseKey });
  const cpConn = connectLedger(job.address, job.cp, { deadlineMs: 120_000, clearinghousePublicKey: job.clearinghouseKey });
  try {
    const send = async (conn: typeof gwConn, records: UsageRecordInput[]) => {
      const res = await conn.reportUsage(records);
      const bad = res.find((r) => r.outcome !== 'ACCEPTED');
      if (bad) throw new Error(`bench: record ${bad.recordId} ${bad.outcome}: ${bad.message}`);
    };
    const t0 = performance.now();
    const gwSlots = slots(job.inFlight);
    const cpSlots = slots(job.inFlight);
    const all: Promise<void>[] = [];
    for (let i = 0; i < job.receipts.length; i += job.batch) {
      const gwBatch = job.receipts.slice(i, i + job.batch);
      const cpBatch = job.served.slice(i, i + job.batch);
      const gwDone = gwSlots(() => send(gwConn, gwBatch));
      all.push(gwDone.then(() => cpSlots(() => send(cpConn, cpBatch))));
      await gwSlots.free();
    }
    await Promise.all(all);
    return (performance.now() - t0) / 1000;
  } finally {
    gwConn.close();
    cpConn.close();
  }
}

/**
 * `report` in a child process (this module with --reporter): the
 * clearinghouse's process then spends CPU only on the clearinghouse. Its CPU
 * is measured over the child's sending, from 'go' to the child's answer.
 */
function reportFromChild(job: ReportJob): Promise<{ seconds: number; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--reporter'], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let c0: NodeJS.CpuUsage | undefined;
    child.on('message', (m: { ready?: true; seconds?: number; error?: string }) => {
      if (m.ready) {
        c0 = process.cpuUsage();
        child.send({ go: true });
        return;
      }
      const c = process.cpuUsage(c0);
      child.disconnect();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve({ seconds: m.seconds!, cpuSeconds: (c.user + c.system) / 1e6 });
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (c0 === undefined || code !== 0) reject(new Error(`bench: reporter process exited with ${code}`));
    });
    child.send(job);
  });
}

/** Child side of reportFromChild: receives the job, says ready, sends on 'go', answers the seconds. */
function reporterChild(): void {
  let job: ReportJob | undefined;
  process.on('message', (m: ReportJob | { go: true }) => {
    if (!('go' in m)) {
      job = m;
      process.send!({ ready: true });
      return;
    }
    report(job!).then(
      (seconds) => process.send!({ seconds }),
      (err: unknown) => process.send!({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

async function endToEnd(transfers: number, batch: number, workers: number, inFlight: number, separate = false): Promise<{ seconds: number; cpuSeconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-ingest-'));
  try {
    const { configPath } = initClearinghouse(dir, { listen: '127.0.0.1:0' });
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...config, verifyWorkers: workers }));
    // One log line per ReportUsage at info would be measured too (and drown the bench's output).
    const ch = await startClearinghouse(loadClearinghouseConfig(configPath), { logger: pino({ level: 'warn' }) });
    try {
      const admin = loadClearinghouseAdmin(join(dir, 'admin.json'));
      const adminConn = connectClearinghouse(ch.address, admin.identity, { clearinghousePublicKey: ch.publicKey });
      const gm = generateKeyPair();
      await adminConn.admitGrid({ gridManagerPublicKey: gm.publicKey, name: 'exporter', areaCode: '101', priceUnitsPerGib: PRICE });
      await adminConn.admitGrid({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'importer', areaCode: '102', priceUnitsPerGib: 1 });
      const cpKey = generateKeyPair();
      const gwKey = generateKeyPair();
      const parties: Parties = {
        cpKey,
        gwKey,
        cp: { keyPair: cpKey, certificates: [issueCertificate(gm, { role: 'contact-point', subject: cpKey.publicKey, grid: '101', ...validityWindow(Date.now(), 3_600_000), limits: {} })] },
        gw: { keyPair: gwKey, certificates: [await adminConn.approveGateway({ areaCode: '102', gatewayPublicKey: gwKey.publicKey })] },
      };
      adminConn.close();
      const { receipts, served } = signRecords(parties, transfers, Date.now());
      const op = connectLedger(ch.address, admin.identity);
      let seconds: number;
      let cpuSeconds: number;
      if (separate) {
        const r = await reportFromChild({ address: ch.address, clearinghouseKey: ch.publicKey, gw: parties.gw, cp: parties.cp, receipts, served, batch, inFlight });
        seconds = r.seconds;
        cpuSeconds = r.cpuSeconds;
      } else {
        const c0 = process.cpuUsage();
        seconds = await report({ address: ch.address, clearinghouseKey: ch.publicKey, gw: parties.gw, cp: parties.cp, receipts, served, batch, inFlight });
        const c = process.cpuUsage(c0);
        cpuSeconds = (c.user + c.system) / 1e6;
      }
      const l = await op.getLedger();
      const posted = l.pairs.reduce((a, p) => a + p.transfers, 0);
      if (posted !== transfers || l.records !== 2 * transfers) throw new Error(`bench: ${posted} transfers posted, ${l.records} records stored; expected ${transfers}, ${2 * transfers}`);
      op.close();
      return { seconds, cpuSeconds };
    } finally {
      await ch.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** µs per record of verification alone (one thread) and of the store alone (SQLite). */
async function parts(transfers: number, batch: number): Promise<{ verifyUs: number; storeUs: number }> {
  const cpKey = generateKeyPair();
  const gwKey = generateKeyPair();
  const { receipts, served } = signRecords({ cpKey, gwKey, cp: { keyPair: cpKey, certificates: [] }, gw: { keyPair: gwKey, certificates: [] } }, transfers, Date.now());
  const all = [...receipts, ...served];
  const t0 = performance.now();
  const cache = new ReceiptCache(4 * transfers);
  const opened = all.map((r) => openRecord(r, cache));
  const verifyUs = ((performance.now() - t0) * 1000) / all.length;
  const dir = mkdtempSync(join(tmpdir(), 'intergrid-ingest-store-'));
  try {
    const knex = await openDatabase({ client: 'sqlite3', filename: join(dir, 'ch.sqlite') }, clearinghouseMigrations, CLEARINGHOUSE_MIGRATIONS_TABLE);
    try {
      const grids = await GridStore.open(knex);
      await grids.admit({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'e', areaCode: '101', priceUnitsPerGib: PRICE }, 101, 0);
      await grids.admit({ gridManagerPublicKey: generateKeyPair().publicKey, name: 'i', areaCode: '102', priceUnitsPerGib: 1 }, 101, 0);
      const ledger = await LedgerStore.open(knex);
      const records: IngestRecord[] = opened.map((o, i) => {
        if (!o.ok) throw new Error(o.message);
        return { ...o.record, body: all[i]!.body, signature: all[i]!.signature, reporterKey: o.record.signer };
      });
      const c1 = process.cpuUsage();
      for (let i = 0; i < records.length; i += batch) {
        const out = await ledger.ingest(records.slice(i, i + batch), Date.now());
        if (out.some((o) => o.outcome !== 'ACCEPTED')) throw new Error('bench: store refused a record');
      }
      const cs = process.cpuUsage(c1);
      const storeUs = (cs.user + cs.system) / records.length;
      return { verifyUs, storeUs };
    } finally {
      await knex.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Measures ingest; returns the figures (the caller prints). */
export async function benchIngest(opts: { transfers?: number; batch?: number; workers?: number; inFlight?: number } = {}): Promise<IngestFigure> {
  const inFlight = opts.inFlight ?? 4;
  const transfers = opts.transfers ?? 20_000;
  const batch = opts.batch ?? 500;
  const workers = opts.workers ?? Math.max(1, Math.min(4, cpus().length));
  const loadAverage = loadavg()[0] ?? 0;
  await endToEnd(Math.min(2000, transfers), batch, workers, inFlight); // warm-up (JIT, SQLite, workers)
  const { verifyUs, storeUs } = await parts(transfers, batch);
  const one = await endToEnd(transfers, batch, 0, inFlight);
  const pooled = await endToEnd(transfers, batch, workers, inFlight);
  await endToEnd(Math.min(2000, transfers), batch, workers, inFlight, true); // warm-up of the child process path
  const oneSep = await endToEnd(transfers, batch, 0, inFlight, true);
  const pooledSep = await endToEnd(transfers, batch, workers, inFlight, true);
  const records = 2 * transfers;
  const oneUs = (one.cpuSeconds * 1e6) / records;
  return {
    separate: {
      recordsPerSecond: records / pooledSep.seconds,
      recordsPerSecondOneThread: records / oneSep.seconds,
      cpuUsPerRecord: (pooledSep.cpuSeconds * 1e6) / records,
      cpuUsPerRecordOneThread: (oneSep.cpuSeconds * 1e6) / records,
    },
    loadAverage,
    cpuUsPerRecord: (pooled.cpuSeconds * 1e6) / records,
    cpuUsPerRecordOneThread: oneUs,
    transfers,
    records,
    batch,
    workers,
    inFlight,
    recordsPerSecond: records / pooled.seconds,
    recordsPerSecondOneThread: records / one.seconds,
    verifyUsPerRecord: verifyUs,
    storeUsPerRecord: storeUs,
    restUsPerRecord: Math.max(0, oneUs - verifyUs - storeUs),
  };
}

/** Prints a figure (bench/run.ts and the stand-alone run). */
export function printIngest(f: IngestFigure): void {
  const r = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(`clearinghouse ingest (${r(f.transfers)} transfers = ${r(f.records)} signed records, batches of ${f.batch}, ${f.inFlight} in flight per reporter, SQLite, gRPC loopback):`);
  console.log(`  verified and posted: ${r(f.recordsPerSecond)} records/s with ${f.workers} verification workers, ${r(f.recordsPerSecondOneThread)} records/s in one thread`);
  console.log(
    `  CPU per record: ${f.cpuUsPerRecordOneThread.toFixed(1)} µs in one thread = verify ${f.verifyUsPerRecord.toFixed(1)} + store (knex+SQLite) ${f.storeUsPerRecord.toFixed(1)} + ` +
      `gRPC/protobuf/auth/checks/clients ${f.restUsPerRecord.toFixed(1)}; ${f.cpuUsPerRecord.toFixed(1)} µs with workers (all threads)`,
  );
  const sep = f.separate;
  console.log(
    `  reporters in a child process (clearinghouse process CPU only): ${r(sep.recordsPerSecond)} records/s with ${f.workers} workers, ${r(sep.recordsPerSecondOneThread)} records/s in one thread; ` +
      `CPU per record ${sep.cpuUsPerRecord.toFixed(1)} µs with workers, ${sep.cpuUsPerRecordOneThread.toFixed(1)} µs in one thread`,
  );
  if (f.loadAverage > cpus().length) console.log(`  (load average ${f.loadAverage.toFixed(1)} on ${cpus().length} cores when it started: wall-clock rates are understated)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === '--reporter') {
  reporterChild();
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const transfers = Number(process.env.BENCH_INGEST_TRANSFERS ?? 20_000);
  const inFlight = Number(process.env.BENCH_INGEST_IN_FLIGHT ?? 4);
  benchIngest({ transfers, inFlight }).then(printIngest, (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
