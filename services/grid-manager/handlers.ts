/**
 * GridManager RPC handlers (proto/grid_manager.proto). Authentication and
 * role checks happen before these run (libs/auth secureService, policy in
 * server.ts); handlers read the caller with principalOf(call) and keep the
 * business rules: who may be approved, renewal, revocation, usage tallies.
 * Every write is committed before the reply is sent.
 */
import type * as grpc from '@grpc/grpc-js';
import { principalOf, type Certificate } from '../../libs/auth/index.js';
import { randomBytes, shortKey, toHex, type KeyPair } from '../../libs/crypto/index.js';
import { assertBytes, InvalidArgumentError, PermissionError } from '../../libs/errors/index.js';
import { authenticateRedeem, inviteSecretHash, redeemSigningBytes, INVITE_SECRET_BYTES } from '../../libs/grid/index.js';
import type { CreateInviteRequest__Output, CreateInviteResponse, RedeemInviteRequest__Output, AnnounceServerRequest__Output, ApproveRequest__Output, ListRevocationsRequest__Output, ListRevocationsResponse, RevokeRequest__Output, SignedDirectory, UsageReport__Output, UsageSummary, ListPrincipalsResponse, Certificate as CertificateMessage, Empty, ListStatementsResponse, GetStatusRequest__Output, GridStatus } from '../../libs/rpc/proto-types.js';
import { unary } from '../../libs/rpc/index.js';
import type { GridManagerConfig } from './config.js';
import { issueGridCertificate, type GridIssuer } from './grid-certificate.js';
import { signDirectory, isGridRole, GRID_ROLES, type GridRole } from '../../libs/grid/index.js';
import type { PrincipalStore } from './principal-store.js';
import type { UsageStore } from './usage-store.js';
import type { TransferTallyStore } from './transfer-tally-store.js';
import type { StatementStore } from './statement-store.js';
import { gridStatus, DEFAULT_EXPIRING_WITHIN_MS, type GridStatusSources } from './grid-status.js';

/** What the handlers need; built by server.ts. */
export interface GridManagerContext {
  config: GridManagerConfig;
  gridKey: KeyPair;
  principals: PrincipalStore;
  usage: UsageStore;
  /** Long-distance transfers per (account, remote area), from NATS usage events. */
  transfers: TransferTallyStore;
  /** Settlement statements fetched from the clearinghouse and verified (statement-sync.ts). */
  statements: StatementStore;
  now(): number;
  /** Called with unexpected errors (sent to the caller as INTERNAL without detail). */
  onInternal?(err: unknown, method: string): void;
}

const DEFAULT_INVITE_MS = 24 * 3_600_000;
const MAX_INVITE_MS = 30 * 86_400_000;
const ADDRESS_PATTERN = /^[^\s:]{1,253}:\d{1,5}$/;
const MAX_NAME_LENGTH = 128;

function certificateMessage(cert: Certificate): CertificateMessage {
  return { encoded: Buffer.from(cert.encoded) };
}

/** The caller's role as a grid role (certificates of other roles never pass this service's policy). */
function callerRole(role: string): GridRole {
  if (!isGridRole(role)) throw new PermissionError(`role ${role} is not a role of this grid`);
  return role;
}

function checkApprove(req: ApproveRequest__Output): { role: GridRole; subject: Uint8Array; name: string; validityMs: number; quotaBytes: number } {
  if (!isGridRole(req.role)) {
    throw new InvalidArgumentError(`role '${String(req.role).slice(0, 40)}' is not one of ${GRID_ROLES.join(', ')}`);
  }
  const subject = new Uint8Array(req.subject ?? []);
  assertBytes('subject', subject, 32);
  const name = (req.name ?? '').trim() || shortKey(subject);
  if (name.length > MAX_NAME_LENGTH) throw new InvalidArgumentError(`name '${name.slice(0, 40)}…' is longer than ${MAX_NAME_LENGTH} characters`);
  const validityMs = Number(req.validityMs ?? 0);
  if (!Number.isSafeInteger(validityMs) || validityMs < 0 || validityMs > 100 * 365 * 86_400_000) {
    throw new InvalidArgumentError(`validity_ms ${req.validityMs} is outside [0, 100 years]`);
  }
  const quotaBytes = Number(req.quotaBytes ?? 0);
  if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0) throw new InvalidArgumentError(`quota_bytes ${req.quotaBytes} is not a non-negative integer`);
  if (quotaBytes > 0 && req.role !== 'client') {
    throw new InvalidArgumentError(`quota_bytes applies to clients only, not to role ${req.role}`);
  }
  return { role: req.role, subject, name, validityMs, quotaBytes };
}

/** The stores and settings grid-status.ts reads (GetStatus and the /metrics gauges). */
export function statusSources(ctx: Pick<GridManagerContext, 'config' | 'principals' | 'usage' | 'statements'>): GridStatusSources {
  return {
    areaCode: ctx.config.areaCode,
    directoryFreshnessMs: ctx.config.directoryFreshnessMs,
    clearinghouseConfigured: ctx.config.clearinghouse !== undefined,
    principals: ctx.principals,
    usage: ctx.usage,
    statements: ctx.statements,
  };
}

/** The service implementation, keyed by the proto method names. */
export function gridManagerHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = (err: unknown, method: string) => ctx.onInternal?.(err, method);
  const issuer: GridIssuer = { gridKey: ctx.gridKey, areaCode: ctx.config.areaCode, lifetimes: ctx.config.certificateLifetimes };

  return {
    GetDirectory: unary<Empty, SignedDirectory>(
      'GetDirectory',
      async () => {
        const now = ctx.now();
        const records = await ctx.principals.directoryServers(now, now - ctx.config.directoryFreshnessMs);
        const signed = signDirectory(
          {
            areaCode: ctx.config.areaCode,
            issuedAtMs: now,
            servers: records.map((r) => ({ name: r.name, publicKey: r.subject, address: r.address!, certificateNotAfterMs: r.certNotAfterMs })),
          },
          ctx.gridKey,
        );
        return { body: Buffer.from(signed.body), signature: Buffer.from(signed.signature) };
      },
      log,
    ),

    AnnounceServer: unary<AnnounceServerRequest__Output, Empty>(
      'AnnounceServer',
      async (call) => {
        const address = call.request.address ?? '';
        if (!ADDRESS_PATTERN.test(address)) throw new InvalidArgumentError(`address '${address.slice(0, 60)}' is not host:port`);
        const port = Number(address.slice(address.lastIndexOf(':') + 1));
        if (port < 1 || port > 65535) throw new InvalidArgumentError(`address '${address}' has port ${port}, expected 1..65535`);
        await ctx.principals.announce(principalOf(call).publicKey, address, ctx.now());
        return {};
      },
      log,
    ),

    RenewCertificate: unary<Empty, CertificateMessage>(
      'RenewCertificate',
      async (call) => {
        const p = principalOf(call);
        const role = callerRole(p.role);
        const now = ctx.now();
        const cert = await ctx.principals.renew(p.publicKey, role, now, (rec) =>
          issueGridCertificate(issuer, now, { subject: rec.subject, role: rec.role, validityMs: rec.validityMs, quotaBytes: rec.quotaBytes }),
        );
        return certificateMessage(cert);
      },
      log,
    ),

    ListRevocations: unary<ListRevocationsRequest__Output, ListRevocationsResponse>(
      'ListRevocations',
      async (call) => {
        const since = Number(call.request.sinceSeq ?? 0);
        const page = await ctx.principals.listRevocations(since);
        return {
          revocations: page.revocations.map((r) => ({ seq: r.seq, subject: Buffer.from(r.subject), revokedAtMs: r.revokedAtMs })),
          latestSeq: page.latestSeq,
        };
      },
      log,
    ),

    ReportUsage: unary<UsageReport__Output, Empty>(
      'ReportUsage',
      async (call) => {
        const server = principalOf(call).publicKey;
        // Only approved, unrevoked storage servers' reports count (the auth
        // check already refused revoked keys; this refuses unknown ones).
        const rec = await ctx.principals.get(server, 'storage-server');
        if (!rec) throw new PermissionError(`key ${shortKey(server)} is not an approved storage server of this grid`);
        const req = call.request;
        await ctx.usage.report(
          server,
          {
            reportId: req.reportId ?? '',
            atMs: Number(req.atMs ?? 0),
            accounts: (req.accounts ?? []).map((a) => ({ account: new Uint8Array(a.account ?? []), bytesStored: Number(a.bytesStored ?? 0), shares: Number(a.shares ?? 0) })),
          },
          ctx.now(),
        );
        return {};
      },
      log,
    ),

    Approve: unary<ApproveRequest__Output, CertificateMessage>(
      'Approve',
      async (call) => {
        const a = checkApprove(call.request);
        const now = ctx.now();
        const cert = await ctx.principals.approve(a, now, () => issueGridCertificate(issuer, now, a));
        return certificateMessage(cert);
      },
      log,
    ),

    Revoke: unary<RevokeRequest__Output, Empty>(
      'Revoke',
      async (call) => {
        const subject = new Uint8Array(call.request.subject ?? []);
        assertBytes('subject', subject, 32);
        await ctx.principals.revoke(subject, ctx.now());
        return {};
      },
      log,
    ),

    ListPrincipals: unary<Empty, ListPrincipalsResponse>(
      'ListPrincipals',
      async () => {
        const list = await ctx.principals.list();
        return {
          principals: list.map((r) => ({
            role: r.role,
            subject: Buffer.from(r.subject),
            name: r.name,
            revoked: r.revoked,
            certNotAfterMs: r.certNotAfterMs,
            address: r.address ?? '',
            lastSeenMs: r.lastSeenMs ?? 0,
            quotaBytes: r.quotaBytes,
          })),
        };
      },
      log,
    ),

    GetUsage: unary<Empty, UsageSummary>(
      'GetUsage',
      async () => {
        const [tally, clients, transferLines] = await Promise.all([ctx.usage.tally(), ctx.principals.clients(), ctx.transfers.list()]);
        const byAccount = new Map(clients.map((c) => [toHex(c.subject), c]));
        const seen = new Set<string>();
        const accounts = tally.map((t) => {
          const hex = toHex(t.account);
          seen.add(hex);
          const c = byAccount.get(hex);
          return { account: Buffer.from(t.account), name: c?.name ?? '', bytesStored: t.bytesStored, shares: t.shares, quotaBytes: c?.quotaBytes ?? 0 };
        });
        // Approved clients with nothing stored yet are listed too, at zero.
        for (const c of clients) {
          if (!seen.has(toHex(c.subject))) {
            accounts.push({ account: Buffer.from(c.subject), name: c.name, bytesStored: 0, shares: 0, quotaBytes: c.quotaBytes });
          }
        }
        const transfers = transferLines.map((t) => ({
          account: Buffer.from(t.account),
          name: byAccount.get(toHex(t.account))?.name ?? '',
          remoteAreaCode: t.remoteAreaCode,
          bytes: t.bytes,
          transfers: t.transfers,
          units: t.units,
        }));
        return { accounts, transfers };
      },
      log,
    ),

    CreateInvite: unary<CreateInviteRequest__Output, CreateInviteResponse>(
      'CreateInvite',
      async (call) => {
        const req = call.request;
        if (req.role === 'admin') throw new InvalidArgumentError('invites cannot create admins; approve an admin key with grid approve');
        const expiresInMs = Number(req.expiresInMs ?? 0) || DEFAULT_INVITE_MS;
        if (!Number.isSafeInteger(expiresInMs) || expiresInMs > MAX_INVITE_MS) throw new InvalidArgumentError(`expires_in_ms ${req.expiresInMs} is more than 30 days`);
        // Same checks as Approve (role, name, validity, quota), on a placeholder subject.
        const a = checkApprove({ role: req.role, subject: Buffer.alloc(32), name: req.name || '-', validityMs: req.validityMs, quotaBytes: req.quotaBytes });
        const secret = randomBytes(INVITE_SECRET_BYTES);
        const now = ctx.now();
        const expiresAtMs = now + expiresInMs;
        await ctx.principals.addInvite(
          { secretHash: inviteSecretHash(secret), role: a.role, name: (req.name ?? '').trim(), quotaBytes: a.quotaBytes, validityMs: a.validityMs, expiresAtMs },
          now,
        );
        return { secret: Buffer.from(secret), expiresAtMs, areaCode: ctx.config.areaCode, gridManagerKey: Buffer.from(ctx.gridKey.publicKey) };
      },
      log,
    ),

    GetStatus: unary<GetStatusRequest__Output, GridStatus>(
      'GetStatus',
      async (call) => {
        const within = Number(call.request.expiringWithinMs ?? 0) || DEFAULT_EXPIRING_WITHIN_MS;
        if (!Number.isSafeInteger(within) || within > 100 * 365 * 86_400_000) throw new InvalidArgumentError(`expiring_within_ms ${call.request.expiringWithinMs} is more than 100 years`);
        const st = await gridStatus(statusSources(ctx), ctx.now(), within);
        const last = st.lastStatement;
        return {
          areaCode: st.areaCode,
          nowMs: st.nowMs,
          directoryFreshnessMs: st.directoryFreshnessMs,
          servers: st.servers.map((v) => ({ ...v, subject: Buffer.from(v.subject) })),
          principals: st.principals,
          nearQuotaRatio: st.nearQuotaRatio,
          nearQuota: st.nearQuota.map((q) => ({ ...q, account: Buffer.from(q.account) })),
          expiringWithinMs: st.expiringWithinMs,
          expiring: st.expiring.map((e) => ({ ...e, subject: Buffer.from(e.subject) })),
          clearinghouseConfigured: st.clearinghouseConfigured,
          statements: st.statements,
          ...(last
            ? { lastStatement: { periodId: last.periodId, body: Buffer.from(last.body), signature: Buffer.from(last.signature), netUnits: last.netUnits, fetchedAtMs: last.fetchedAtMs } }
            : {}),
        };
      },
      log,
    ),

    ListStatements: unary<Empty, ListStatementsResponse>(
      'ListStatements',
      async () => ({
        statements: (await ctx.statements.list()).map((st) => ({
          periodId: st.periodId,
          body: Buffer.from(st.body),
          signature: Buffer.from(st.signature),
          netUnits: st.netUnits,
          fetchedAtMs: st.fetchedAtMs,
        })),
      }),
      log,
    ),
  };
}

/**
 * The GridInvite service (served without the certificate check, server.ts):
 * Redeem authenticates the caller by the invite secret and a signature by the
 * new key, then approves the key like Approve (principal-store redeemInvite).
 */
export function gridInviteHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = (err: unknown, method: string) => ctx.onInternal?.(err, method);
  const issuer: GridIssuer = { gridKey: ctx.gridKey, areaCode: ctx.config.areaCode, lifetimes: ctx.config.certificateLifetimes };
  return {
    Redeem: unary<RedeemInviteRequest__Output, CertificateMessage>(
      'Redeem',
      async (call) => {
        const req = call.request;
        const subject = new Uint8Array(req.subject ?? []);
        assertBytes('subject', subject, 32);
        const role = req.role ?? '';
        if (!isGridRole(role) || role === 'admin') throw new InvalidArgumentError(`role '${role.slice(0, 40)}' cannot be redeemed by invite`);
        const atMs = Number(req.atMs ?? 0);
        const now = ctx.now();
        const hash = authenticateRedeem(
          { secret: new Uint8Array(req.secret ?? []), atMs, signature: new Uint8Array(req.signature ?? []), key: subject },
          {
            secretBytes: INVITE_SECRET_BYTES,
            hashSecret: inviteSecretHash,
            signingBytes: (h) => redeemSigningBytes(h, role, subject, atMs),
            now,
            maxSkewMs: ctx.config.maxClockSkewMs,
            clockOf: "the grid manager's",
            keyName: 'the key',
          },
        );
        const cert = await ctx.principals.redeemInvite(hash, role, subject, now, (a) => issueGridCertificate(issuer, now, a));
        return certificateMessage(cert);
      },
      log,
    ),
  };
}
