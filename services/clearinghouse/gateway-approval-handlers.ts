/**
 * Gateway approvals and sanctions (proto/clearinghouse.proto; docs/security.md
 * "Revocation"): the operator approves a grid's gateway for long-distance
 * fetches (ApproveGateway, recorded for billing) and revokes an approval for
 * good (RevokeGatewayApproval); contact points poll the sanctions log
 * (ListSanctions: suspensions and revoked approvals).
 */
import type * as grpc from '@grpc/grpc-js';
import { issueCertificate, validityWindow, MAX_VALIDITY_MS } from '../../libs/auth/index.js';
import { shortKey, toHex } from '../../libs/crypto/index.js';
import { PreconditionError, uintField, publicKeyField } from '../../libs/errors/index.js';
import { unary } from '../../libs/rpc/index.js';
import type { ApproveGatewayRequest__Output, Certificate as CertificateMessage, Empty, ListSanctionsRequest__Output, ListSanctionsResponse, RevokeGatewayApprovalRequest__Output } from '../../libs/rpc/proto-types.js';
import { areaCodeField, type ClearinghouseContext } from './handler-context.js';

export function gatewayApprovalHandlers(ctx: ClearinghouseContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  return {
    ApproveGateway: unary<ApproveGatewayRequest__Output, CertificateMessage>(
      'ApproveGateway',
      async (call) => {
        const areaCode = areaCodeField(call.request.areaCode);
        const subject = publicKeyField('gateway_public_key', call.request.gatewayPublicKey);
        const validityMs = uintField('validity_ms', call.request.validityMs, MAX_VALIDITY_MS);
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
        const subject = publicKeyField('gateway_public_key', call.request.gatewayPublicKey);
        await ctx.sanctions.revokeGateway(subject, ctx.now());
        return {};
      },
      log,
    ),

    ListSanctions: unary<ListSanctionsRequest__Output, ListSanctionsResponse>(
      'ListSanctions',
      async (call) => {
        const since = uintField('since_seq', call.request.sinceSeq);
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
  };
}
