/**
 * Who belongs to the grid (proto/grid_manager.proto): admins approve and
 * revoke keys and list them; a member renews its own certificate; storage
 * servers poll the revocation log. Every write is committed before the
 * certificate or reply is sent.
 */
import type * as grpc from '@grpc/grpc-js';
import { principalOf, MAX_VALIDITY_MS, type Certificate } from '../../libs/auth/index.js';
import { shortKey } from '../../libs/crypto/index.js';
import { InvalidArgumentError, nameField, PermissionError, uintField, publicKeyField } from '../../libs/errors/index.js';
import { isGridRole, GRID_ROLES, type GridRole } from '../../libs/grid/index.js';
import type { ApproveRequest__Output, Certificate as CertificateMessage, Empty, ListPrincipalsResponse, ListRevocationsRequest__Output, ListRevocationsResponse, RevokeRequest__Output } from '../../libs/rpc/proto-types.js';
import { unary } from '../../libs/rpc/index.js';
import { issueGridCertificate } from './grid-certificate.js';
import { gridIssuer, type GridManagerContext } from './handler-context.js';
import type { ApprovalInput } from './principal-store.js';

export function certificateMessage(cert: Certificate): CertificateMessage {
  return { encoded: Buffer.from(cert.encoded) };
}

/** The caller's role as a grid role (certificates of other roles never pass this service's policy). */
function callerRole(role: string): GridRole {
  if (!isGridRole(role)) throw new PermissionError(`role ${role} is not a role of this grid`);
  return role;
}

/** An approval's fields as sent (Approve, and CreateInvite on a placeholder subject). */
export function checkApprove(req: ApproveRequest__Output): ApprovalInput {
  if (!isGridRole(req.role)) {
    throw new InvalidArgumentError(`role '${String(req.role).slice(0, 40)}' is not one of ${GRID_ROLES.join(', ')}`);
  }
  const subject = publicKeyField('subject', req.subject);
  const name = nameField('name', req.name) || shortKey(subject);
  const validityMs = uintField('validity_ms', req.validityMs, MAX_VALIDITY_MS);
  const quotaBytes = uintField('quota_bytes', req.quotaBytes);
  if (quotaBytes > 0 && req.role !== 'client') {
    throw new InvalidArgumentError(`quota_bytes applies to clients only, not to role ${req.role}`);
  }
  return { role: req.role, subject, name, validityMs, quotaBytes };
}

export function membershipHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  const issuer = gridIssuer(ctx);
  return {
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

    Revoke: unary<RevokeRequest__Output, Empty>(
      'Revoke',
      async (call) => {
        const subject = publicKeyField('subject', call.request.subject);
        await ctx.revocations.revoke(subject, ctx.now());
        return {};
      },
      log,
    ),

    ListRevocations: unary<ListRevocationsRequest__Output, ListRevocationsResponse>(
      'ListRevocations',
      async (call) => {
        const since = Number(call.request.sinceSeq ?? 0);
        const page = await ctx.revocations.since(since);
        return {
          revocations: page.revocations.map((r) => ({ seq: r.seq, subject: Buffer.from(r.subject), revokedAtMs: r.revokedAtMs })),
          latestSeq: page.latestSeq,
        };
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
  };
}
