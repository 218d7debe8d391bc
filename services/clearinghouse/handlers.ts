/**
 * Clearinghouse RPC handlers (proto/clearinghouse.proto). Authentication and
 * role checks happen before these run (libs/auth secureService, policy in
 * server.ts, which also states which grid each caller must speak for,
 * caller-rules.ts); handlers read the caller with principalOf(call) and keep
 * the business rules: admission, suspension, prices, gateway approvals, which
 * contact points a grid may register, and signed resolutions.
 */
import type * as grpc from '@grpc/grpc-js';
import { issueCertificate, principalOf, validityWindow } from '../../libs/auth/index.js';
import { isAreaCode } from '../../libs/caps/index.js';
import { randomBytes, shortKey, toHex, type KeyPair } from '../../libs/crypto/index.js';
import { authenticateRedeem } from '../../libs/grid/index.js';
import { AlreadyExistsError, assertBytes, InvalidArgumentError, PreconditionError, UnavailableError } from '../../libs/errors/index.js';
import { gridInviteSecretHash, gridInviteSigningBytes, GRID_INVITE_SECRET_BYTES, signResolution } from '../../libs/federation/index.js';
import { unary } from '../../libs/rpc/index.js';
import type { AdmitGridRequest__Output, CreateGridInviteRequest__Output, CreateGridInviteResponse, RedeemGridInviteRequest__Output, ApproveGatewayRequest__Output, GridRecord, ListGridsResponse, RegisterContactPointRequest__Output, ResolveRequest__Output, SetGridSuspendedRequest__Output, SetPriceRequest__Output, SignedResolution, Certificate as CertificateMessage, Empty, RevokeGatewayApprovalRequest__Output, ListSanctionsRequest__Output, ListSanctionsResponse } from '../../libs/rpc/proto-types.js';
import type { ClearinghouseConfig } from './config.js';
import type { GridRow, GridStore } from './grid-store.js';
import type { GridInviteStore } from './grid-invite-store.js';
import type { LedgerStore } from './ledger-store.js';
import type { PeriodStore } from './period-store.js';
import type { RecordOpener } from './verify-pool.js';
import { ledgerHandlers } from './ledger-handlers.js';
import type { SanctionStore } from './sanction-store.js';

/** What the handlers need; built by server.ts. */
export interface ClearinghouseContext {
  config: ClearinghouseConfig;
  key: KeyPair;
  grids: GridStore;
  /** One-time federation invites (a grid joining by code). */
  invites: GridInviteStore;
  /** Billing: usage records, transfers, postings, disputes. */
  ledger: LedgerStore;
  /** Billing: periods and signed statements. */
  periods: PeriodStore;
  /** Billing: verifies reported records. */
  opener: RecordOpener;
  /** Suspensions and revoked gateway approvals, for contact points to poll. */
  sanctions: SanctionStore;
  now(): number;
  /** Called with unexpected errors (sent to the caller as INTERNAL without detail). */
  onInternal?(err: unknown, method: string): void;
}

const ADDRESS_PATTERN = /^[^\s:]{1,253}:\d{1,5}$/;
const MAX_NAME_LENGTH = 128;
const MAX_VALIDITY_MS = 100 * 365 * 86_400_000;
const DEFAULT_INVITE_MS = 24 * 3_600_000;
const MAX_INVITE_MS = 30 * 86_400_000;
/** An invite code's fields are at most 255 bytes (libs/grid invite-codec.ts). */
const MAX_INVITE_NAME_BYTES = 255;

function nameArg(value: string | undefined): string {
  const name = (value ?? '').trim();
  if (name.length === 0) throw new InvalidArgumentError('grid name is empty');
  if (name.length > MAX_NAME_LENGTH) throw new InvalidArgumentError(`grid name '${name.slice(0, 40)}…' is longer than ${MAX_NAME_LENGTH} characters`);
  return name;
}

function areaCodeArg(value: string | undefined): string {
  const code: string = value ?? '';
  if (!isAreaCode(code)) throw new InvalidArgumentError(`area code '${(value ?? '').slice(0, 16)}' is not 3–8 decimal digits`);
  return code;
}

function uintArg(name: string, value: number | string | undefined, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value ?? 0);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`${name} ${String(value)} is not an integer in [0, ${max}]`);
  return n;
}

function addressArg(value: string | undefined): string {
  const address = value ?? '';
  if (!ADDRESS_PATTERN.test(address)) throw new InvalidArgumentError(`address '${address.slice(0, 60)}' is not host:port`);
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`address '${address}' has port ${port}, expected 1..65535`);
  return address;
}

function gridRecord(g: GridRow, contactPoints: number): GridRecord {
  return {
    areaCode: g.areaCode,
    name: g.name,
    gridManagerPublicKey: Buffer.from(g.gridManagerPublicKey),
    suspended: g.suspended,
    priceUnitsPerGib: g.priceUnitsPerGib,
    admittedAtMs: g.admittedAtMs,
    contactPoints,
  };
}

/** The service implementation, keyed by the proto method names. */
export function clearinghouseHandlers(ctx: ClearinghouseContext): grpc.UntypedServiceImplementation {
  const log = (err: unknown, method: string) => ctx.onInternal?.(err, method);
  const freshSince = (now: number) => now - ctx.config.contactPointFreshnessMs;

  async function record(g: GridRow, counts?: Map<string, number>): Promise<GridRecord> {
    const n = counts ? (counts.get(g.areaCode) ?? 0) : (await ctx.grids.freshContactPoints(g.areaCode, freshSince(ctx.now()))).length;
    return gridRecord(g, n);
  }

  return {
    ...ledgerHandlers({ ...ctx, ackDelayMs: ctx.config.testAckDelayMs ?? 0 }),
    AdmitGrid: unary<AdmitGridRequest__Output, GridRecord>(
      'AdmitGrid',
      async (call) => {
        const req = call.request;
        const key = new Uint8Array(req.gridManagerPublicKey ?? []);
        assertBytes('grid_manager_public_key', key, 32);
        const requested = (req.areaCode ?? '') === '' ? undefined : areaCodeArg(req.areaCode);
        const name = nameArg(req.name);
        const price = uintArg('price_units_per_gib', req.priceUnitsPerGib);
        const g = await ctx.grids.admit(
          { gridManagerPublicKey: key, name, priceUnitsPerGib: price, ...(requested ? { areaCode: requested } : {}) },
          ctx.config.firstAreaCode,
          ctx.now(),
        );
        return record(g, new Map());
      },
      log,
    ),

    CreateGridInvite: unary<CreateGridInviteRequest__Output, CreateGridInviteResponse>(
      'CreateGridInvite',
      async (call) => {
        const req = call.request;
        const name = nameArg(req.name);
        if (Buffer.byteLength(name, 'utf8') > MAX_INVITE_NAME_BYTES) throw new InvalidArgumentError(`grid name '${name.slice(0, 40)}…' is longer than ${MAX_INVITE_NAME_BYTES} bytes in UTF-8`);
        const areaCode = (req.areaCode ?? '') === '' ? '' : areaCodeArg(req.areaCode);
        const price = uintArg('price_units_per_gib', req.priceUnitsPerGib);
        const expiresInMs = uintArg('expires_in_ms', req.expiresInMs) || DEFAULT_INVITE_MS;
        if (expiresInMs > MAX_INVITE_MS) throw new InvalidArgumentError(`expires_in_ms ${expiresInMs} is more than 30 days`);
        // Refused early when already taken (checked again when redeemed).
        const taken = areaCode === '' ? undefined : await ctx.grids.get(areaCode);
        if (taken) throw new AlreadyExistsError(`area code ${areaCode} is already admitted (grid '${taken.name}')`);
        const secret = randomBytes(GRID_INVITE_SECRET_BYTES);
        const now = ctx.now();
        const expiresAtMs = now + expiresInMs;
        await ctx.invites.add({ secretHash: gridInviteSecretHash(secret), name, areaCode, priceUnitsPerGib: price, expiresAtMs }, now);
        return { secret: Buffer.from(secret), expiresAtMs, clearinghousePublicKey: Buffer.from(ctx.key.publicKey) };
      },
      log,
    ),

    SetGridSuspended: unary<SetGridSuspendedRequest__Output, GridRecord>(
      'SetGridSuspended',
      async (call) => record(await ctx.grids.setSuspended(areaCodeArg(call.request.areaCode), Boolean(call.request.suspended), ctx.now())),
      log,
    ),

    ApproveGateway: unary<ApproveGatewayRequest__Output, CertificateMessage>(
      'ApproveGateway',
      async (call) => {
        const areaCode = areaCodeArg(call.request.areaCode);
        const subject = new Uint8Array(call.request.gatewayPublicKey ?? []);
        assertBytes('gateway_public_key', subject, 32);
        const validityMs = uintArg('validity_ms', call.request.validityMs, MAX_VALIDITY_MS);
        const grid = await ctx.grids.require(areaCode);
        if (grid.suspended) throw new PreconditionError(`area code ${areaCode} is suspended: reinstate it before approving its gateways`);
        if (ctx.sanctions.isGatewayRevoked(subject)) {
          throw new PreconditionError(`gateway ${shortKey(subject)}'s approval was revoked for good: give the gateway a new key and approve that`);
        }
        const now = ctx.now();
        const cert = issueCertificate(ctx.key, {
          role: 'gateway-approval',
          subject,
          grid: areaCode,
          ...validityWindow(now, validityMs > 0 ? validityMs : ctx.config.gatewayApprovalLifetimeMs),
          limits: {},
        });
        // Billing: receipts signed by this key are accepted for this area code within the window.
        await ctx.ledger.recordApproval(toHex(subject), areaCode, cert.notBefore, cert.notAfter, now);
        return { encoded: Buffer.from(cert.encoded) };
      },
      log,
    ),

    RevokeGatewayApproval: unary<RevokeGatewayApprovalRequest__Output, Empty>(
      'RevokeGatewayApproval',
      async (call) => {
        const subject = new Uint8Array(call.request.gatewayPublicKey ?? []);
        assertBytes('gateway_public_key', subject, 32);
        await ctx.sanctions.revokeGateway(subject, ctx.now());
        return {};
      },
      log,
    ),

    ListSanctions: unary<ListSanctionsRequest__Output, ListSanctionsResponse>(
      'ListSanctions',
      async (call) => {
        const since = uintArg('since_seq', call.request.sinceSeq);
        const r = await ctx.sanctions.since(since);
        return {
          sanctions: r.sanctions.map((x) => ({
            seq: x.seq,
            kind: x.kind,
            areaCode: x.areaCode,
            gatewayPublicKey: Buffer.from(x.gatewayPublicKey ?? new Uint8Array(0)),
            atMs: x.atMs,
          })),
          latestSeq: r.latestSeq,
          more: r.more,
        };
      },
      log,
    ),

    SetPrice: unary<SetPriceRequest__Output, GridRecord>(
      'SetPrice',
      async (call) => {
        const areaCode = areaCodeArg(call.request.areaCode);
        const price = uintArg('price_units_per_gib', call.request.priceUnitsPerGib);
        return record(await ctx.grids.setPrice(areaCode, price, ctx.now()));
      },
      log,
    ),

    ListGrids: unary<Empty, ListGridsResponse>(
      'ListGrids',
      async () => {
        const counts = await ctx.grids.freshContactPointCounts(freshSince(ctx.now()));
        const grids = await ctx.grids.list();
        return { grids: await Promise.all(grids.map((g) => record(g, counts))) };
      },
      log,
    ),

    RegisterContactPoint: unary<RegisterContactPointRequest__Output, Empty>(
      'RegisterContactPoint',
      async (call) => {
        // The policy (server.ts) admitted it as a contact point of p.grid.
        const p = principalOf(call);
        const address = addressArg(call.request.address);
        await ctx.grids.registerContactPoint(p.grid, p.publicKey, address, ctx.now());
        return {};
      },
      log,
    ),

    DeregisterContactPoint: unary<Empty, Empty>(
      'DeregisterContactPoint',
      async (call) => {
        const p = principalOf(call);
        // Idempotent: deregistering twice (or after expiry) is not an error.
        await ctx.grids.deregisterContactPoint(p.grid, p.publicKey);
        return {};
      },
      log,
    ),

    Resolve: unary<ResolveRequest__Output, SignedResolution>(
      'Resolve',
      async (call) => {
        // The policy (server.ts) admitted the gateway: its own grid admitted and unsuspended, its approval not revoked.
        const areaCode = areaCodeArg(call.request.areaCode);
        const grid = await ctx.grids.require(areaCode);
        if (grid.suspended) throw new PreconditionError(`area code ${areaCode} is suspended`);
        const now = ctx.now();
        const contactPoints = await ctx.grids.freshContactPoints(areaCode, freshSince(now));
        if (contactPoints.length === 0) {
          throw new UnavailableError(
            `area code ${areaCode} has no contact point registered in the last ${Math.round(ctx.config.contactPointFreshnessMs / 1000)} s`,
          );
        }
        const signed = signResolution(
          {
            areaCode,
            gridManager: grid.gridManagerPublicKey,
            priceUnitsPerGib: grid.priceUnitsPerGib,
            issuedAtMs: now,
            expiresAtMs: now + ctx.config.resolutionTtlMs,
            contactPoints: contactPoints.map((c) => ({ address: c.address, publicKey: c.publicKey })),
          },
          ctx.key,
        );
        return { body: Buffer.from(signed.body), signature: Buffer.from(signed.signature) };
      },
      log,
    ),
  };
}

/**
 * The FederationInvite service (served without the certificate check,
 * server.ts): Redeem authenticates the caller by the invite secret and a
 * signature by the grid manager key it admits, then admits the grid like
 * AdmitGrid (grid-invite-store.ts redeem).
 */
export function federationInviteHandlers(ctx: ClearinghouseContext): grpc.UntypedServiceImplementation {
  const log = (err: unknown, method: string) => ctx.onInternal?.(err, method);
  return {
    Redeem: unary<RedeemGridInviteRequest__Output, GridRecord>(
      'Redeem',
      async (call) => {
        const req = call.request;
        const gmKey = new Uint8Array(req.gridManagerPublicKey ?? []);
        assertBytes('grid_manager_public_key', gmKey, 32);
        const areaCode = areaCodeArg(req.areaCode);
        const atMs = Number(req.atMs ?? 0);
        const now = ctx.now();
        const hash = authenticateRedeem(
          { secret: new Uint8Array(req.secret ?? []), atMs, signature: new Uint8Array(req.signature ?? []), key: gmKey },
          {
            secretBytes: GRID_INVITE_SECRET_BYTES,
            hashSecret: gridInviteSecretHash,
            signingBytes: (h) => gridInviteSigningBytes(h, areaCode, gmKey, atMs),
            now,
            maxSkewMs: ctx.config.maxClockSkewMs,
            clockOf: "the clearinghouse's",
            keyName: 'the grid manager key',
          },
        );
        // Just admitted: no contact point has registered yet.
        return gridRecord(await ctx.invites.redeem(hash, gmKey, areaCode, ctx.config.firstAreaCode, now), 0);
      },
      log,
    ),
  };
}
