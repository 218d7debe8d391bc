/**
 * The federation's grids (proto/clearinghouse.proto): the operator admits a
 * grid directly (AdmitGrid) or by a one-time code (CreateGridInvite; the
 * FederationInvite service's Redeem, served without the certificate check,
 * server.ts, authenticates the caller by the invite secret and a signature by
 * the grid manager key it admits, grid-invite-store.ts redeem), suspends and
 * reinstates grids, sets their prices, lists them.
 */
import type * as grpc from '@grpc/grpc-js';
import { randomBytes } from '../../libs/crypto/index.js';
import { authenticateRedeem, inviteLifetimeField } from '../../libs/grid/index.js';
import { AlreadyExistsError, InvalidArgumentError, nameField, uintField, publicKeyField } from '../../libs/errors/index.js';
import { gridInviteSecretHash, gridInviteSigningBytes, GRID_INVITE_SECRET_BYTES } from '../../libs/federation/index.js';
import { unary } from '../../libs/rpc/index.js';
import type { AdmitGridRequest__Output, CreateGridInviteRequest__Output, CreateGridInviteResponse, Empty, GridRecord, ListGridsResponse, RedeemGridInviteRequest__Output, SetGridSuspendedRequest__Output, SetPriceRequest__Output } from '../../libs/rpc/proto-types.js';
import type { GridRow } from './grid-store.js';
import { areaCodeField, freshSince, type ClearinghouseContext } from './handler-context.js';

/** An invite code's fields are at most 255 bytes (libs/grid invite-codec.ts). */
const MAX_INVITE_NAME_BYTES = 255;

function gridName(value: string | undefined): string {
  const name = nameField('grid name', value);
  if (name.length === 0) throw new InvalidArgumentError('grid name is empty');
  return name;
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

export function gridHandlers(ctx: ClearinghouseContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;

  async function record(g: GridRow, counts?: Map<string, number>): Promise<GridRecord> {
    const n = counts ? (counts.get(g.areaCode) ?? 0) : (await ctx.grids.freshContactPoints(g.areaCode, freshSince(ctx, ctx.now()))).length;
    return gridRecord(g, n);
  }

  return {
    AdmitGrid: unary<AdmitGridRequest__Output, GridRecord>(
      'AdmitGrid',
      async (call) => {
        const req = call.request;
        const key = publicKeyField('grid_manager_public_key', req.gridManagerPublicKey);
        const requested = (req.areaCode ?? '') === '' ? undefined : areaCodeField(req.areaCode);
        const name = gridName(req.name);
        const price = uintField('price_units_per_gib', req.priceUnitsPerGib);
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
        const name = gridName(req.name);
        if (Buffer.byteLength(name, 'utf8') > MAX_INVITE_NAME_BYTES) throw new InvalidArgumentError(`grid name '${name.slice(0, 40)}…' is longer than ${MAX_INVITE_NAME_BYTES} bytes in UTF-8`);
        const areaCode = (req.areaCode ?? '') === '' ? '' : areaCodeField(req.areaCode);
        const price = uintField('price_units_per_gib', req.priceUnitsPerGib);
        const expiresInMs = inviteLifetimeField(req.expiresInMs);
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
      async (call) => record(await ctx.grids.setSuspended(areaCodeField(call.request.areaCode), Boolean(call.request.suspended), ctx.now())),
      log,
    ),

    SetPrice: unary<SetPriceRequest__Output, GridRecord>(
      'SetPrice',
      async (call) => {
        const areaCode = areaCodeField(call.request.areaCode);
        const price = uintField('price_units_per_gib', call.request.priceUnitsPerGib);
        return record(await ctx.grids.setPrice(areaCode, price, ctx.now()));
      },
      log,
    ),

    ListGrids: unary<Empty, ListGridsResponse>(
      'ListGrids',
      async () => {
        const counts = await ctx.grids.freshContactPointCounts(freshSince(ctx, ctx.now()));
        const grids = await ctx.grids.list();
        return { grids: await Promise.all(grids.map((g) => record(g, counts))) };
      },
      log,
    ),
  };
}

/** The FederationInvite service: Redeem. */
export function federationInviteHandlers(ctx: ClearinghouseContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  return {
    Redeem: unary<RedeemGridInviteRequest__Output, GridRecord>(
      'Redeem',
      async (call) => {
        const req = call.request;
        const gmKey = publicKeyField('grid_manager_public_key', req.gridManagerPublicKey);
        const areaCode = areaCodeField(req.areaCode);
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
