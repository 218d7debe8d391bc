/**
 * Grid invites (docs/grid-manager.md "Invites"): an admin creates a one-time
 * code (GridManager.CreateInvite); a new node redeems it without a
 * certificate (the GridInvite service, served without the certificate check,
 * server.ts): Redeem authenticates the caller by the invite secret and a
 * signature by the new key, then approves the key like Approve.
 */
import type * as grpc from '@grpc/grpc-js';
import { randomBytes } from '../../libs/crypto/index.js';
import { InvalidArgumentError, publicKeyField } from '../../libs/errors/index.js';
import { authenticateRedeem, inviteLifetimeField, inviteSecretHash, isGridRole, redeemSigningBytes, INVITE_SECRET_BYTES } from '../../libs/grid/index.js';
import type { Certificate as CertificateMessage, CreateInviteRequest__Output, CreateInviteResponse, RedeemInviteRequest__Output } from '../../libs/rpc/proto-types.js';
import { unary } from '../../libs/rpc/index.js';
import { issueGridCertificate } from './grid-certificate.js';
import { gridIssuer, type GridManagerContext } from './handler-context.js';
import { certificateMessage, checkApprove } from './membership-handlers.js';

/** GridManager.CreateInvite (admins). */
export function createInviteHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  return {
    CreateInvite: unary<CreateInviteRequest__Output, CreateInviteResponse>(
      'CreateInvite',
      async (call) => {
        const req = call.request;
        if (req.role === 'admin') throw new InvalidArgumentError('invites cannot create admins; approve an admin key with grid approve');
        const expiresInMs = inviteLifetimeField(req.expiresInMs);
        // Same checks as Approve (role, name, validity, quota), on a placeholder subject.
        const a = checkApprove({ role: req.role, subject: Buffer.alloc(32), name: req.name || '-', validityMs: req.validityMs, quotaBytes: req.quotaBytes });
        const secret = randomBytes(INVITE_SECRET_BYTES);
        const now = ctx.now();
        const expiresAtMs = now + expiresInMs;
        await ctx.invites.add(
          { secretHash: inviteSecretHash(secret), role: a.role, name: (req.name ?? '').trim(), quotaBytes: a.quotaBytes, validityMs: a.validityMs, expiresAtMs },
          now,
        );
        return { secret: Buffer.from(secret), expiresAtMs, areaCode: ctx.config.areaCode, gridManagerKey: Buffer.from(ctx.gridKey.publicKey) };
      },
      log,
    ),
  };
}

/** The GridInvite service: Redeem. */
export function gridInviteHandlers(ctx: GridManagerContext): grpc.UntypedServiceImplementation {
  const log = ctx.onInternal;
  const issuer = gridIssuer(ctx);
  return {
    Redeem: unary<RedeemInviteRequest__Output, CertificateMessage>(
      'Redeem',
      async (call) => {
        const req = call.request;
        const subject = publicKeyField('subject', req.subject);
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
        const cert = await ctx.invites.redeem(hash, role, subject, now, (a) => issueGridCertificate(issuer, now, a));
        return certificateMessage(cert);
      },
      log,
    ),
  };
}
