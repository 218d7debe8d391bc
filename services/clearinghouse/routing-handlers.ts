/**
 * Routing between grids (proto/clearinghouse.proto): a grid's contact points
 * register their address and renew it (RegisterContactPoint,
 * DeregisterContactPoint); a gateway resolves an area code to a signed list
 * of that grid's fresh contact points and its price (Resolve).
 */
import type * as grpc from '@grpc/grpc-js';
import { principalOf } from '../../libs/auth/index.js';
import { dialAddressField, PreconditionError, UnavailableError } from '../../libs/errors/index.js';
import { signResolution } from '../../libs/federation/index.js';
import { unary } from '../../libs/rpc/index.js';
import type { Empty, RegisterContactPointRequest__Output, ResolveRequest__Output, SignedResolution } from '../../libs/rpc/proto-types.js';
import { areaCodeField, freshSince, type ClearinghouseContext } from './handler-context.js';

export function routingHandlers(ctx: ClearinghouseContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  return {
    RegisterContactPoint: unary<RegisterContactPointRequest__Output, Empty>(
      'RegisterContactPoint',
      async (call) => {
        // The policy (server.ts) admitted it as a contact point of p.grid.
        const p = principalOf(call);
        const address = dialAddressField(call.request.address);
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
        const areaCode = areaCodeField(call.request.areaCode);
        const grid = await ctx.grids.require(areaCode);
        if (grid.suspended) throw new PreconditionError(`area code ${areaCode} is suspended`);
        const now = ctx.now();
        const contactPoints = await ctx.grids.freshContactPoints(areaCode, freshSince(ctx, now));
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
