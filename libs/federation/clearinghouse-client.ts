/**
 * Typed client for the Clearinghouse service (proto/clearinghouse.proto).
 * Every call is signed by the libs/auth interceptor with the caller's
 * identity; errors come back as the domain classes (libs/rpc call()).
 * Whatever the clearinghouse signs or issues is verified here against the
 * clearinghouse key the caller trusts before it is returned.
 */
import { securedClient, decodeCertificate, verifyCertificate, type Certificate, type Identity } from '../auth/index.js';
import { assertAreaCode } from '../caps/index.js';
import { bytesEqual, shortKey } from '../crypto/index.js';
import { assertBytes, assertInt, IntegrityError, InvalidArgumentError } from '../errors/index.js';
import { call, clearinghouseProto } from '../rpc/index.js';
import type { ClearinghouseClient, AdmitGridRequest, GridRecord__Output, SetGridSuspendedRequest, ApproveGatewayRequest, RevokeGatewayApprovalRequest, ListSanctionsRequest, ListSanctionsResponse__Output, SetPriceRequest, CreateGridInviteRequest, CreateGridInviteResponse__Output, ListGridsResponse__Output, RegisterContactPointRequest, ResolveRequest, SignedResolution__Output, Certificate__Output, Empty, Empty__Output } from '../rpc/proto-types.js';
import { openResolution, type Resolution } from './resolution.js';

export interface ConnectClearinghouseOptions {
  /**
   * The clearinghouse key the caller trusts: verifies resolutions and issued
   * gateway approvals. Default: the issuer of the caller's own
   * 'gateway-approval' or 'clearinghouse-admin' certificate.
   */
  clearinghousePublicKey?: Uint8Array;
  /** Per-call deadline (default libs/rpc DEFAULT_DEADLINE_MS). */
  deadlineMs?: number;
  /** Clock for resolution expiry (Unix ms), for tests. */
  now?(): number;
}

/** A grid as the clearinghouse records it. */
export interface GridInfo {
  areaCode: string;
  name: string;
  gridManagerPublicKey: Uint8Array;
  suspended: boolean;
  priceUnitsPerGib: number;
  admittedAtMs: number;
  /** Contact points currently registered (and fresh). */
  contactPoints: number;
}

export interface AdmitGridInput {
  gridManagerPublicKey: Uint8Array;
  name: string;
  /** Absent = the clearinghouse assigns the next free area code. */
  areaCode?: string;
  /** Initial price (default 0). */
  priceUnitsPerGib?: number;
}

export interface ApproveGatewayInput {
  /** The gateway's own grid. */
  areaCode: string;
  gatewayPublicKey: Uint8Array;
  /** 0 or absent = the clearinghouse's default lifetime. */
  validityMs?: number;
}

export interface CreateGridInviteInput {
  /** The grid's name once admitted. */
  name: string;
  /** Absent = the area code the grid manager is configured with. */
  areaCode?: string;
  /** Initial price (default 0). */
  priceUnitsPerGib?: number;
  /** How long the invite can be redeemed (absent or 0 = 24 h; at most 30 days). */
  expiresInMs?: number;
}

/** A created federation invite: the secret to put in the code (libs/federation grid-invite.ts). */
export interface CreatedGridInvite {
  secret: Uint8Array;
  expiresAtMs: number;
  clearinghousePublicKey: Uint8Array;
}

/** One entry of the clearinghouse's sanctions log (ListSanctions). */
export interface SanctionInfo {
  seq: number;
  kind: 'suspend' | 'reinstate' | 'revoke-gateway';
  /** The grid (suspend / reinstate), or the revoked gateway's grid ('' if unknown). */
  areaCode: string;
  /** revoke-gateway only. */
  gatewayPublicKey?: Uint8Array;
  atMs: number;
}

const SANCTION_KINDS = new Set(['suspend', 'reinstate', 'revoke-gateway']);

export interface ClearinghouseConnection {
  readonly address: string;
  /** Operator: admits a grid. @throws AlreadyExistsError when the area code or grid manager key is taken. */
  admitGrid(input: AdmitGridInput): Promise<GridInfo>;
  /** Operator: suspends or reinstates a grid. @throws NotFoundError for an unknown area code. */
  setGridSuspended(areaCode: string, suspended: boolean): Promise<GridInfo>;
  /** Operator: revokes every approval of a gateway key, for good. Idempotent. */
  revokeGatewayApproval(gatewayPublicKey: Uint8Array): Promise<void>;
  /**
   * Contact point: sanctions after `sinceSeq`, oldest first (one page; ask
   * again from the last seq while `more`). Entries of an unknown kind are
   * dropped here (a newer clearinghouse), their seq still counted.
   */
  listSanctions(sinceSeq: number): Promise<{ sanctions: SanctionInfo[]; latestSeq: number; more: boolean }>;
  /** Operator: issues a gateway-approval certificate (verified under the clearinghouse key before it is returned). */
  approveGateway(input: ApproveGatewayInput): Promise<Certificate>;
  /** Operator: publishes a grid's price. */
  setPrice(areaCode: string, priceUnitsPerGib: number): Promise<GridInfo>;
  /** Operator: every admitted grid, by area code. */
  listGrids(): Promise<GridInfo[]>;
  /** Operator: a one-time invite for a grid (docs/clearinghouse.md "Invites"). @throws AlreadyExistsError when the area code is taken. */
  createGridInvite(input: CreateGridInviteInput): Promise<CreatedGridInvite>;
  /** Contact point: registers (or refreshes) the caller at `address` (host:port). */
  registerContactPoint(address: string): Promise<void>;
  /** Contact point: removes the caller from its grid's resolutions. */
  deregisterContactPoint(): Promise<void>;
  /**
   * Gateway: the verified resolution of `areaCode`.
   * @throws NotFoundError (unknown), PreconditionError (suspended), UnavailableError (no contact point),
   *   IntegrityError when the signature does not verify or the answer is for another area code.
   */
  resolve(areaCode: string): Promise<Resolution>;
  /** Gateway: the raw signed resolution (for callers that keep or forward it). */
  resolveSigned(areaCode: string): Promise<{ body: Uint8Array; signature: Uint8Array }>;
  close(): void;
}

const bytes = (b: Uint8Array | undefined): Uint8Array => new Uint8Array(b ?? []);

/** A GridRecord as GridInfo (also used by the federation invite client). */
export function gridInfo(r: GridRecord__Output): GridInfo {
  return {
    areaCode: r.areaCode,
    name: r.name,
    gridManagerPublicKey: bytes(r.gridManagerPublicKey),
    suspended: Boolean(r.suspended),
    priceUnitsPerGib: Number(r.priceUnitsPerGib ?? 0),
    admittedAtMs: Number(r.admittedAtMs ?? 0),
    contactPoints: Number(r.contactPoints ?? 0),
  };
}

/**
 * The clearinghouse key a caller pins and signs for: `explicit` when given,
 * else the issuer of the identity's clearinghouse-issued certificate
 * (gateway approval, clearinghouse admin or grid membership).
 * @throws InvalidArgumentError when neither is there, or `explicit` is not 32 bytes.
 */
export function clearinghouseKeyOf(identity: Identity | (() => Identity), explicit?: Uint8Array): Uint8Array {
  if (explicit !== undefined) {
    assertBytes('clearinghousePublicKey', explicit, 32);
    return explicit;
  }
  const current = typeof identity === 'function' ? identity() : identity;
  const own = current.certificates.find((c) => c.role === 'gateway-approval' || c.role === 'clearinghouse-admin' || c.role === 'grid-member');
  if (!own) {
    throw new InvalidArgumentError('no clearinghouse public key: pass clearinghousePublicKey or connect with a gateway-approval or clearinghouse-admin certificate');
  }
  return own.issuer;
}

/**
 * Opens a channel to the clearinghouse at `address` (host:port). Nothing is
 * sent until the first call. Pass `identity` as a function to present
 * renewed certificates without reconnecting.
 * @example const ch = connectClearinghouse(addr, gatewayIdentity, { clearinghousePublicKey })
 */
export function connectClearinghouse(
  address: string,
  identity: Identity | (() => Identity),
  opts: ConnectClearinghouseOptions = {},
): ClearinghouseConnection {
  const key = clearinghouseKeyOf(identity, opts.clearinghousePublicKey);
  const Ctor = clearinghouseProto().intergrid.clearinghouse.Clearinghouse;
  const client = securedClient<ClearinghouseClient>(Ctor, { address, publicKey: key }, identity);
  const o = { peer: `clearinghouse ${address}`, deadlineMs: opts.deadlineMs };
  const now = opts.now ?? Date.now;
  const trustedKey = (): Uint8Array => key;

  async function resolveSigned(areaCode: string): Promise<{ body: Uint8Array; signature: Uint8Array }> {
    assertAreaCode('area code', areaCode);
    const res = await call<ResolveRequest, SignedResolution__Output>(client, client.resolve, { areaCode }, o);
    return { body: bytes(res.body), signature: bytes(res.signature) };
  }

  return {
    address,
    async admitGrid(input) {
      assertBytes('gridManagerPublicKey', input.gridManagerPublicKey, 32);
      if (input.areaCode !== undefined) assertAreaCode('area code', input.areaCode);
      if (input.priceUnitsPerGib !== undefined) assertInt('priceUnitsPerGib', input.priceUnitsPerGib);
      const res = await call<AdmitGridRequest, GridRecord__Output>(
        client,
        client.admitGrid,
        {
          gridManagerPublicKey: Buffer.from(input.gridManagerPublicKey),
          name: input.name,
          areaCode: input.areaCode ?? '',
          priceUnitsPerGib: input.priceUnitsPerGib ?? 0,
        },
        o,
      );
      return gridInfo(res);
    },
    async setGridSuspended(areaCode, suspended) {
      assertAreaCode('area code', areaCode);
      const res = await call<SetGridSuspendedRequest, GridRecord__Output>(client, client.setGridSuspended, { areaCode, suspended }, o);
      return gridInfo(res);
    },
    async approveGateway(input) {
      assertAreaCode('area code', input.areaCode);
      assertBytes('gatewayPublicKey', input.gatewayPublicKey, 32);
      const res = await call<ApproveGatewayRequest, Certificate__Output>(
        client,
        client.approveGateway,
        { areaCode: input.areaCode, gatewayPublicKey: Buffer.from(input.gatewayPublicKey), validityMs: input.validityMs ?? 0 },
        o,
      );
      const cert = decodeCertificate(bytes(res.encoded));
      const ch = trustedKey();
      if (!bytesEqual(cert.issuer, ch)) {
        throw new IntegrityError(`${o.peer} returned a certificate issued by ${shortKey(cert.issuer)}, expected ${shortKey(ch)}`);
      }
      if (cert.role !== 'gateway-approval' || cert.grid !== input.areaCode || !bytesEqual(cert.subject, input.gatewayPublicKey)) {
        throw new IntegrityError(`${o.peer} returned a ${cert.role} certificate for ${shortKey(cert.subject)} in grid ${cert.grid}, not what was asked`);
      }
      // Only the signature matters here; validity is the verifier's business (clocks differ).
      try {
        return verifyCertificate(cert, { trustedIssuers: [ch], now: cert.notBefore });
      } catch (e) {
        throw new IntegrityError(`${o.peer} returned a certificate that does not verify: ${(e as Error).message}`, { cause: e });
      }
    },
    async revokeGatewayApproval(gatewayPublicKey) {
      assertBytes('gatewayPublicKey', gatewayPublicKey, 32);
      await call<RevokeGatewayApprovalRequest, Empty__Output>(client, client.revokeGatewayApproval, { gatewayPublicKey: Buffer.from(gatewayPublicKey) }, o);
    },
    async listSanctions(sinceSeq) {
      assertInt('sinceSeq', sinceSeq);
      const res = await call<ListSanctionsRequest, ListSanctionsResponse__Output>(client, client.listSanctions, { sinceSeq }, o);
      const sanctions: SanctionInfo[] = [];
      let latestSeq = Number(res.latestSeq ?? 0);
      for (const x of res.sanctions ?? []) {
        const seq = Number(x.seq);
        latestSeq = Math.max(latestSeq, seq);
        if (!SANCTION_KINDS.has(x.kind)) continue;
        const key = bytes(x.gatewayPublicKey);
        sanctions.push({
          seq,
          kind: x.kind as SanctionInfo['kind'],
          areaCode: x.areaCode ?? '',
          ...(key.length === 32 ? { gatewayPublicKey: key } : {}),
          atMs: Number(x.atMs ?? 0),
        });
      }
      return { sanctions, latestSeq, more: Boolean(res.more) };
    },
    async setPrice(areaCode, priceUnitsPerGib) {
      assertAreaCode('area code', areaCode);
      assertInt('priceUnitsPerGib', priceUnitsPerGib);
      const res = await call<SetPriceRequest, GridRecord__Output>(client, client.setPrice, { areaCode, priceUnitsPerGib }, o);
      return gridInfo(res);
    },
    async listGrids() {
      const res = await call<Empty, ListGridsResponse__Output>(client, client.listGrids, {}, o);
      return (res.grids ?? []).map(gridInfo);
    },
    async createGridInvite(input) {
      if (input.areaCode !== undefined) assertAreaCode('area code', input.areaCode);
      if (input.priceUnitsPerGib !== undefined) assertInt('priceUnitsPerGib', input.priceUnitsPerGib);
      if (input.expiresInMs !== undefined) assertInt('expiresInMs', input.expiresInMs);
      const res = await call<CreateGridInviteRequest, CreateGridInviteResponse__Output>(
        client,
        client.createGridInvite,
        { name: input.name, areaCode: input.areaCode ?? '', priceUnitsPerGib: input.priceUnitsPerGib ?? 0, expiresInMs: input.expiresInMs ?? 0 },
        o,
      );
      return { secret: bytes(res.secret), expiresAtMs: Number(res.expiresAtMs ?? 0), clearinghousePublicKey: bytes(res.clearinghousePublicKey) };
    },
    async registerContactPoint(addr) {
      await call<RegisterContactPointRequest, Empty__Output>(client, client.registerContactPoint, { address: addr }, o);
    },
    async deregisterContactPoint() {
      await call<Empty, Empty__Output>(client, client.deregisterContactPoint, {}, o);
    },
    resolveSigned,
    async resolve(areaCode) {
      const signed = await resolveSigned(areaCode);
      const r = openResolution(signed, trustedKey(), now());
      if (r.areaCode !== areaCode) {
        throw new IntegrityError(`${o.peer} answered a resolution of area code ${areaCode} with one for ${r.areaCode}`);
      }
      return r;
    },
    close() {
      client.close();
    },
  };
}
