/**
 * Typed client for the GridManager service. Every call is signed by the
 * libs/auth interceptor with the caller's identity; errors come back as the
 * domain classes (libs/rpc call()).
 */
import { securedClient, decodeCertificate, verifyCertificate, type Certificate, type Identity } from '../auth/index.js';
import { bytesEqual, shortKey } from '../crypto/index.js';
import { assertBytes, IntegrityError, InvalidArgumentError } from '../errors/index.js';
import { call, gridManagerProto } from '../rpc/index.js';
import type { GridManagerClient, Certificate__Output, Empty, Empty__Output, SignedDirectory__Output, AnnounceServerRequest, ListRevocationsRequest, ListRevocationsResponse__Output, UsageReport, ApproveRequest, RevokeRequest, ListPrincipalsResponse__Output, ListStatementsResponse__Output, UsageSummary__Output, CreateInviteRequest, CreateInviteResponse__Output, GetStatusRequest, GridStatus__Output, WatchFileRequest, WatchedFile__Output, UnwatchFileRequest, ListWatchedResponse__Output } from '../rpc/proto-types.js';
import { openDirectory, type Directory } from './directory.js';
import type { GridRole } from './grid-roles.js';
import type { UsageReportInput } from './usage-report.js';

export interface ConnectGridManagerOptions {
  /** The grid manager key the caller trusts; verifies directories and issued certificates. */
  gridManagerPublicKey?: Uint8Array;
  /** Per-call deadline (default libs/rpc DEFAULT_DEADLINE_MS). */
  deadlineMs?: number;
}

export interface ApproveInput {
  role: GridRole;
  subject: Uint8Array;
  name: string;
  /** 0 or absent = the grid's default lifetime for the role. */
  validityMs?: number;
  /** Clients: per-server quota in bytes; 0 or absent = unlimited. */
  quotaBytes?: number;
}

export interface CreateInviteInput {
  role: Exclude<GridRole, 'admin'>;
  /** Label of the principal the invite creates ('' = key prefix). */
  name?: string;
  /** How long the invite can be redeemed (default 24 h). */
  expiresInMs?: number;
  validityMs?: number;
  quotaBytes?: number;
}

export interface CreatedInvite {
  secret: Uint8Array;
  expiresAtMs: number;
  areaCode: string;
  gridManagerKey: Uint8Array;
}

export interface PrincipalInfo {
  role: string;
  subject: Uint8Array;
  name: string;
  revoked: boolean;
  certNotAfterMs: number;
  /** Storage servers: last announced address ('' if never). */
  address: string;
  lastSeenMs: number;
  quotaBytes: number;
}

export interface AccountTallyInfo {
  account: Uint8Array;
  name: string;
  bytesStored: number;
  shares: number;
  quotaBytes: number;
}

/** Long-distance transfers a client of this grid received from one remote grid (NATS usage events). */
export interface TransferTallyInfo {
  account: Uint8Array;
  name: string;
  remoteAreaCode: string;
  bytes: number;
  transfers: number;
  units: number;
}

/** One storage server in GetStatus, as the grid manager builds it and the admin's tools read it. */
export interface ServerStatusInfo {
  name: string;
  subject: Uint8Array;
  /** Last announced address ('' = never announced). */
  address: string;
  /** Last announcement (0 = never). */
  lastSeenMs: number;
  /** In the signed directory: announced within the freshness window with an unexpired certificate. */
  listed: boolean;
  certNotAfterMs: number;
  /** Totals of its latest usage report (0 when none yet). */
  bytesStored: number;
  shares: number;
  reportedAtMs: number;
}

/** GetStatus (admin): what `intergrid status` shows, as the grid manager sees it (docs/grid-manager.md "Status"). */
export interface GridStatusInfo {
  areaCode: string;
  /** The grid manager's clock when it answered. */
  nowMs: number;
  directoryFreshnessMs: number;
  servers: ServerStatusInfo[];
  principals: { role: string; active: number; revoked: number }[];
  nearQuotaRatio: number;
  nearQuota: { account: Uint8Array; name: string; quotaBytes: number; maxServerBytes: number; bytesStored: number }[];
  expiringWithinMs: number;
  expiring: { role: string; subject: Uint8Array; name: string; certNotAfterMs: number }[];
  clearinghouseConfigured: boolean;
  statements: number;
  lastStatement?: { periodId: string; netUnits: number; fetchedAtMs: number };
}

export interface RevocationInfo {
  seq: number;
  subject: Uint8Array;
  revokedAtMs: number;
}

/** A file the grid's repairer watches, and what its last check found (docs/repair.md). */
export interface WatchedFileInfo {
  verifyCap: string;
  storageIndex: Uint8Array;
  n: number;
  addedAtMs: number;
  /** 0 = not checked yet. */
  lastCheckedAtMs: number;
  nextCheckAtMs: number;
  goodShares: number;
  happiness: number;
  healthy: boolean;
  sharesRepaired: number;
  /** The earliest of the repairer's leases renewed at the last check (0 = none). */
  leaseExpiresAtMs: number;
  lastProblem: string;
}

export interface GridManagerConnection {
  readonly address: string;
  /**
   * The verified directory. The key defaults to `opts.gridManagerPublicKey`,
   * else to the issuer of the caller's own certificate (the grid manager
   * that admitted it).
   * @throws IntegrityError when the signature does not verify under that key.
   */
  getDirectory(gmPublicKey?: Uint8Array): Promise<Directory>;
  /** The raw signed directory (for callers that forward it). */
  getSignedDirectory(): Promise<{ body: Uint8Array; signature: Uint8Array }>;
  announceServer(address: string): Promise<void>;
  renewCertificate(): Promise<Certificate>;
  listRevocations(sinceSeq: number): Promise<{ revocations: RevocationInfo[]; latestSeq: number }>;
  reportUsage(report: UsageReportInput): Promise<void>;
  approve(req: ApproveInput): Promise<Certificate>;
  revoke(subject: Uint8Array): Promise<void>;
  listPrincipals(): Promise<PrincipalInfo[]>;
  getUsage(): Promise<AccountTallyInfo[]>;
  /** Storage per account and long-distance transfers per (account, remote area). */
  getUsageSummary(): Promise<{ accounts: AccountTallyInfo[]; transfers: TransferTallyInfo[] }>;
  /** Settlement statements the grid manager fetched and verified, oldest period first (body empty = no traffic). */
  listStatements(): Promise<{ periodId: string; body: Uint8Array; signature: Uint8Array; netUnits: number; fetchedAtMs: number }[]>;
  /** Admin: a one-time invite; encode it with the grid manager's address (libs/grid/invite.ts encodeInvite). */
  createInvite(req: CreateInviteInput): Promise<CreatedInvite>;
  /** Admin: the grid's status; certificates expiring within `expiringWithinMs` (0 = the grid manager's default, 7 days). */
  getStatus(expiringWithinMs?: number): Promise<GridStatusInfo>;
  /** Admin: hands the repairer a verify-cap to keep alive (due at once). */
  watchFile(verifyCap: string): Promise<WatchedFileInfo>;
  /** Admin: stops watching. @throws NotFoundError when it was not watched. */
  unwatchFile(storageIndex: Uint8Array): Promise<void>;
  /** Admin: every watched file, the soonest due first. */
  listWatched(): Promise<WatchedFileInfo[]>;
  close(): void;
}

function watchedFileInfo(f: WatchedFile__Output): WatchedFileInfo {
  return {
    verifyCap: f.verifyCap,
    storageIndex: bytes(f.storageIndex),
    n: Number(f.n),
    addedAtMs: Number(f.addedAtMs),
    lastCheckedAtMs: Number(f.lastCheckedAtMs),
    nextCheckAtMs: Number(f.nextCheckAtMs),
    goodShares: Number(f.goodShares),
    happiness: Number(f.happiness),
    healthy: Boolean(f.healthy),
    sharesRepaired: Number(f.sharesRepaired),
    leaseExpiresAtMs: Number(f.leaseExpiresAtMs),
    lastProblem: f.lastProblem,
  };
}

const bytes = (b: Uint8Array | undefined): Uint8Array => new Uint8Array(b ?? []);

/**
 * Opens a channel to the grid manager at `address` (host:port). Nothing is
 * sent until the first call. Pass `identity` as a function to present
 * renewed certificates without reconnecting.
 * @example const gm = connectGridManager(addr, admin.identity, { gridManagerPublicKey: admin.gridManager.publicKey })
 */
export function connectGridManager(
  address: string,
  identity: Identity | (() => Identity),
  opts: ConnectGridManagerOptions = {},
): GridManagerConnection {
  if (opts.gridManagerPublicKey !== undefined) assertBytes('gridManagerPublicKey', opts.gridManagerPublicKey, 32);
  const initial = typeof identity === 'function' ? identity() : identity;
  const pinned = opts.gridManagerPublicKey ?? initial.certificates[0]?.issuer;
  if (!pinned) throw new InvalidArgumentError('no grid manager public key: pass one or connect with an identity holding a certificate');
  const Ctor = gridManagerProto().intergrid.gridmanager.GridManager;
  const client = securedClient<GridManagerClient>(Ctor, { address, publicKey: pinned }, identity);
  const o = { peer: `grid manager ${address}`, deadlineMs: opts.deadlineMs };

  function trustedKey(explicit?: Uint8Array): Uint8Array {
    return explicit ?? pinned!;
  }

  /** Decodes an issued certificate and checks it is signed by the grid manager we trust. */
  function checkIssued(encoded: Uint8Array): Certificate {
    const cert = decodeCertificate(encoded);
    const gm = trustedKey();
    if (!bytesEqual(cert.issuer, gm)) {
      throw new IntegrityError(`${o.peer} returned a certificate issued by ${shortKey(cert.issuer)}, expected ${shortKey(gm)}`);
    }
    // Only the issuer signature matters here; validity times are the
    // verifier's business (our clock may lag the manager's), so check at notBefore.
    try {
      return verifyCertificate(cert, { trustedIssuers: [gm], now: cert.notBefore });
    } catch (e) {
      throw new IntegrityError(`${o.peer} returned a certificate that does not verify: ${(e as Error).message}`, { cause: e });
    }
  }

  async function getSignedDirectory(): Promise<{ body: Uint8Array; signature: Uint8Array }> {
    const res = await call<Empty, SignedDirectory__Output>(client, client.getDirectory, {}, o);
    return { body: bytes(res.body), signature: bytes(res.signature) };
  }

  return {
    address,
    getSignedDirectory,
    async getDirectory(gmPublicKey) {
      const key = trustedKey(gmPublicKey);
      return openDirectory(await getSignedDirectory(), key);
    },
    async announceServer(addr) {
      await call<AnnounceServerRequest, Empty__Output>(client, client.announceServer, { address: addr }, o);
    },
    async renewCertificate() {
      const res = await call<Empty, Certificate__Output>(client, client.renewCertificate, {}, o);
      return checkIssued(bytes(res.encoded));
    },
    async listRevocations(sinceSeq) {
      const res = await call<ListRevocationsRequest, ListRevocationsResponse__Output>(client, client.listRevocations, { sinceSeq }, o);
      return {
        revocations: (res.revocations ?? []).map((r) => ({ seq: Number(r.seq), subject: bytes(r.subject), revokedAtMs: Number(r.revokedAtMs) })),
        latestSeq: Number(res.latestSeq),
      };
    },
    async reportUsage(report) {
      await call<UsageReport, Empty__Output>(
        client,
        client.reportUsage,
        {
          reportId: report.reportId,
          atMs: report.atMs,
          accounts: report.accounts.map((a) => ({ account: Buffer.from(a.account), bytesStored: a.bytesStored, shares: a.shares })),
        },
        o,
      );
    },
    async approve(req) {
      assertBytes('subject', req.subject, 32);
      const res = await call<ApproveRequest, Certificate__Output>(
        client,
        client.approve,
        { role: req.role, subject: Buffer.from(req.subject), name: req.name, validityMs: req.validityMs ?? 0, quotaBytes: req.quotaBytes ?? 0 },
        o,
      );
      return checkIssued(bytes(res.encoded));
    },
    async revoke(subject) {
      assertBytes('subject', subject, 32);
      await call<RevokeRequest, Empty__Output>(client, client.revoke, { subject: Buffer.from(subject) }, o);
    },
    async listPrincipals() {
      const res = await call<Empty, ListPrincipalsResponse__Output>(client, client.listPrincipals, {}, o);
      return (res.principals ?? []).map((p) => ({
        role: p.role,
        subject: bytes(p.subject),
        name: p.name,
        revoked: p.revoked,
        certNotAfterMs: Number(p.certNotAfterMs),
        address: p.address,
        lastSeenMs: Number(p.lastSeenMs),
        quotaBytes: Number(p.quotaBytes),
      }));
    },
    async getUsage() {
      return (await this.getUsageSummary()).accounts;
    },
    async getUsageSummary() {
      const res = await call<Empty, UsageSummary__Output>(client, client.getUsage, {}, o);
      return {
        accounts: (res.accounts ?? []).map((a) => ({
          account: bytes(a.account),
          name: a.name,
          bytesStored: Number(a.bytesStored),
          shares: Number(a.shares),
          quotaBytes: Number(a.quotaBytes),
        })),
        transfers: (res.transfers ?? []).map((t) => ({
          account: bytes(t.account),
          name: t.name,
          remoteAreaCode: t.remoteAreaCode,
          bytes: Number(t.bytes),
          transfers: Number(t.transfers),
          units: Number(t.units),
        })),
      };
    },
    async listStatements() {
      const res = await call<Empty, ListStatementsResponse__Output>(client, client.listStatements, {}, o);
      return (res.statements ?? []).map((st) => ({
        periodId: st.periodId,
        body: bytes(st.body),
        signature: bytes(st.signature),
        netUnits: Number(st.netUnits),
        fetchedAtMs: Number(st.fetchedAtMs),
      }));
    },
    async createInvite(req) {
      const res = await call<CreateInviteRequest, CreateInviteResponse__Output>(
        client,
        client.createInvite,
        { role: req.role, name: req.name ?? '', expiresInMs: req.expiresInMs ?? 0, validityMs: req.validityMs ?? 0, quotaBytes: req.quotaBytes ?? 0 },
        o,
      );
      return { secret: bytes(res.secret), expiresAtMs: Number(res.expiresAtMs), areaCode: res.areaCode, gridManagerKey: bytes(res.gridManagerKey) };
    },
    async getStatus(expiringWithinMs = 0) {
      const r = await call<GetStatusRequest, GridStatus__Output>(client, client.getStatus, { expiringWithinMs }, o);
      const last = r.lastStatement;
      return {
        areaCode: r.areaCode,
        nowMs: Number(r.nowMs),
        directoryFreshnessMs: Number(r.directoryFreshnessMs),
        servers: (r.servers ?? []).map((v) => ({
          name: v.name,
          subject: bytes(v.subject),
          address: v.address,
          lastSeenMs: Number(v.lastSeenMs),
          listed: Boolean(v.listed),
          certNotAfterMs: Number(v.certNotAfterMs),
          bytesStored: Number(v.bytesStored),
          shares: Number(v.shares),
          reportedAtMs: Number(v.reportedAtMs),
        })),
        principals: (r.principals ?? []).map((p) => ({ role: p.role, active: Number(p.active), revoked: Number(p.revoked) })),
        nearQuotaRatio: Number(r.nearQuotaRatio),
        nearQuota: (r.nearQuota ?? []).map((q) => ({
          account: bytes(q.account),
          name: q.name,
          quotaBytes: Number(q.quotaBytes),
          maxServerBytes: Number(q.maxServerBytes),
          bytesStored: Number(q.bytesStored),
        })),
        expiringWithinMs: Number(r.expiringWithinMs),
        expiring: (r.expiring ?? []).map((e) => ({ role: e.role, subject: bytes(e.subject), name: e.name, certNotAfterMs: Number(e.certNotAfterMs) })),
        clearinghouseConfigured: Boolean(r.clearinghouseConfigured),
        statements: Number(r.statements),
        ...(last ? { lastStatement: { periodId: last.periodId, netUnits: Number(last.netUnits), fetchedAtMs: Number(last.fetchedAtMs) } } : {}),
      };
    },
    async watchFile(verifyCap) {
      return watchedFileInfo(await call<WatchFileRequest, WatchedFile__Output>(client, client.watchFile, { verifyCap }, o));
    },
    async unwatchFile(storageIndex) {
      assertBytes('storageIndex', storageIndex, 16);
      await call<UnwatchFileRequest, Empty__Output>(client, client.unwatchFile, { storageIndex: Buffer.from(storageIndex) }, o);
    },
    async listWatched() {
      const res = await call<Empty, ListWatchedResponse__Output>(client, client.listWatched, {}, o);
      return (res.files ?? []).map(watchedFileInfo);
    },
    close() {
      client.close();
    },
  };
}
