/**
 * The grid's repairer (docs/repair.md), run by the grid manager: every
 * `repairer.pollMs` it takes the watched files that are due, checks each
 * (every block of every copy), renews the repairer's lease on every server
 * holding a share, and repairs the file when fewer than `happy` good shares
 * or servers remain (libs/client repairFile: rebuilt from ciphertext, so the
 * verify-cap is all it holds). The next check is due `checkEveryMs` later,
 * or sooner when a lease would expire first (half the remaining lease).
 *
 * It calls the storage servers as its own client account: a key of its own
 * (repairer.keyFile), approved once as the client principal 'repairer' so it
 * is listed and revocable like any account, with a short certificate the
 * grid key issues for each round. Failures are recorded on the file and
 * tried again after `retryMs`; they never stop the grid manager.
 */
import type { Identity } from '../../libs/auth/index.js';
import { parseCap, type VerifyCap } from '../../libs/caps/index.js';
import { repairFile, openStoragePeer, type RepairResult, type StoragePeer } from '../../libs/client/index.js';
import { toHex, type KeyPair } from '../../libs/crypto/index.js';
import type { Counter } from 'prom-client';
import type { GridManagerConfig } from './config.js';
import { issueGridCertificate } from './grid-certificate.js';
import type { PrincipalStore } from './principal-store.js';
import type { ServerAnnouncements } from './server-announcements.js';
import type { CheckOutcome, WatchStore } from './watch-store.js';

/** Lifetime of the certificate issued for one round (a round of large repairs may take a while). */
const ROUND_CERTIFICATE_MS = 6 * 60 * 60_000;
/** Files taken per round. */
const FILES_PER_ROUND = 100;

export interface RepairLoopDeps {
  config: GridManagerConfig;
  gridKey: KeyPair;
  repairerKey: KeyPair;
  principals: PrincipalStore;
  servers: ServerAnnouncements;
  store: WatchStore;
  now(): number;
  log(message: string): void;
  metrics: { sharesRepaired: Counter; leasesRenewed: Counter; checks: Counter<'outcome'> };
  /** After each file (tests). */
  onChecked?(storageIndex: string, outcome: CheckOutcome): void;
}

export interface RepairLoop {
  /** Runs a round now (after the one in progress); resolves when it is done. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Registers the repairer's account and starts the rounds (the first one at once). */
export async function startRepairLoop(deps: RepairLoopDeps): Promise<RepairLoop> {
  const { config, gridKey, repairerKey } = deps;
  const cfg = config.repairer;
  const issuer = { gridKey, areaCode: config.areaCode, lifetimes: config.certificateLifetimes };
  const account = { subject: repairerKey.publicKey, role: 'client' as const, name: 'repairer', validityMs: 0, quotaBytes: 0 };
  await deps.principals.approve(account, deps.now(), () => issueGridCertificate(issuer, deps.now(), account));
  const identity = (): Identity => ({
    keyPair: repairerKey,
    certificates: [issueGridCertificate(issuer, deps.now(), { ...account, validityMs: ROUND_CERTIFICATE_MS })],
  });

  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (): Promise<void> => {
    chain = chain.then(() => (stopped ? undefined : round().catch((err: unknown) => deps.log(`repairer: round failed: ${(err as Error).message}`))));
    return chain;
  };

  async function round(): Promise<void> {
    const now = deps.now();
    const due = await deps.store.due(now, FILES_PER_ROUND);
    if (due.length === 0) return;
    const records = await deps.servers.directoryServers(now, now - config.directoryFreshnessMs);
    const id = identity();
    const peers: StoragePeer[] = records.map((r) => openStoragePeer(id, { name: r.name, publicKey: r.subject, address: r.address! }));
    try {
      for (const file of due) {
        if (stopped) return;
        const cap = parseCap(file.verifyCap); // stored by WatchFile, which takes verify-caps only
        if (cap.kind === 'verify') await checkOne(toHex(file.storageIndex), cap, peers);
      }
    } finally {
      for (const p of peers) p.close();
    }
  }

  async function checkOne(storageIndex: string, cap: VerifyCap, servers: readonly StoragePeer[]): Promise<void> {
    const happy = Math.min(cfg.happy, cap.n);
    const started = deps.now();
    let outcome: CheckOutcome;
    let nextAt: number;
    try {
      const session = { areaCode: config.areaCode, servers, config: { encoding: { happy } } };
      const res = await repairFile(session, cap, { addLease: true, needsRepair: (c) => c.goodShares < happy || c.happiness < happy });
      outcome = outcomeOf(res, happy);
      const renewed = res.servers.filter((s) => s.leaseExpiresAtMs !== undefined).length;
      deps.metrics.leasesRenewed.inc(renewed);
      deps.metrics.sharesRepaired.inc(res.repaired.length);
      deps.metrics.checks.labels(res.repaired.length > 0 ? 'repaired' : res.goodShares >= happy && res.happiness >= happy ? 'ok' : 'below-happy').inc();
      const now = deps.now();
      nextAt = now + cfg.checkEveryMs;
      // Renew again when half of the shortest lease is gone, if that comes first.
      if (outcome.leaseExpiresAtMs > 0) nextAt = Math.min(nextAt, now + Math.max(cfg.retryMs, Math.floor((outcome.leaseExpiresAtMs - now) / 2)));
      else nextAt = Math.min(nextAt, now + cfg.retryMs);
    } catch (err) {
      outcome = { goodShares: 0, happiness: 0, healthy: false, repaired: 0, leaseExpiresAtMs: 0, problem: `check failed: ${(err as Error).message}` };
      deps.metrics.checks.labels('failed').inc();
      nextAt = deps.now() + cfg.retryMs;
    }
    if (outcome.problem) deps.log(`repairer: ${storageIndex}: ${outcome.problem}`);
    await deps.store.recordCheck(storageIndex, outcome, started, nextAt);
    deps.onChecked?.(storageIndex, outcome);
  }

  const timer = setInterval(() => void enqueue(), cfg.pollMs);
  timer.unref();
  void enqueue();
  return {
    runNow: enqueue,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain;
    },
  };
}

/** What the watch record keeps of a repair result. */
function outcomeOf(res: RepairResult, happy: number): CheckOutcome {
  const leases = res.servers.map((s) => s.leaseExpiresAtMs).filter((x): x is number => x !== undefined);
  const leaseErrors = res.servers.filter((s) => s.leaseError).map((s) => `${s.server}: ${s.leaseError}`);
  const problems = [
    ...(res.repairProblem ? [res.repairProblem] : []),
    ...(leaseErrors.length ? [`lease not renewed on ${leaseErrors.join('; ')}`] : []),
    ...((res.goodShares < happy || res.happiness < happy) && !res.repairProblem ? [`below happy=${happy}: ${res.goodShares}/${res.n} good shares on ${res.happiness} servers`] : []),
  ];
  return {
    goodShares: res.goodShares,
    happiness: res.happiness,
    healthy: res.healthy,
    repaired: res.repaired.length,
    leaseExpiresAtMs: leases.length ? Math.min(...leases) : 0,
    problem: problems.join('; '),
  };
}
