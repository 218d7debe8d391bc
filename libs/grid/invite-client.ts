/**
 * Redeeming an invite code (libs/grid/invite.ts) at the grid manager's
 * GridInvite service: no certificate yet, so the call carries the invite
 * secret and a signature by the new key instead of the auth interceptor's.
 */
import { pinnedClient, decodeCertificate, verifyCertificate, type Certificate } from '../auth/index.js';
import { bytesEqual, sign, shortKey, type KeyPair } from '../crypto/index.js';
import { IntegrityError } from '../errors/index.js';
import { call, gridManagerProto } from '../rpc/index.js';
import type { GridInviteClient, RedeemInviteRequest, Certificate__Output } from '../rpc/proto-types.js';
import { inviteSecretHash, redeemSigningBytes, type InviteCode } from './invite.js';

/**
 * Redeems `invite` for `keyPair` (the new node's key) and returns the
 * certificate, checked to be issued by the invite's grid manager for this key
 * and role.
 * @throws PermissionError / PreconditionError from the grid manager (forged, used, expired, wrong role).
 */
export async function redeemInvite(invite: InviteCode, keyPair: KeyPair, opts: { now?: number; deadlineMs?: number } = {}): Promise<Certificate> {
  const Ctor = gridManagerProto().intergrid.gridmanager.GridInvite;
  // Pinned to the invite's grid manager key: an on-path party can neither read the secret nor answer in its place.
  const client = pinnedClient<GridInviteClient>(Ctor, { address: invite.address, publicKey: invite.gridManagerKey });
  const peer = `grid manager ${invite.address}`;
  try {
    const atMs = opts.now ?? Date.now();
    const signature = sign(redeemSigningBytes(inviteSecretHash(invite.secret), invite.role, keyPair.publicKey, atMs), keyPair.secretKey);
    const res = await call<RedeemInviteRequest, Certificate__Output>(
      client,
      client.redeem,
      { secret: Buffer.from(invite.secret), role: invite.role, subject: Buffer.from(keyPair.publicKey), atMs, signature: Buffer.from(signature) },
      { peer, deadlineMs: opts.deadlineMs },
    );
    const cert = decodeCertificate(new Uint8Array(res.encoded ?? []));
    try {
      verifyCertificate(cert, { trustedIssuers: [invite.gridManagerKey], now: cert.notBefore });
    } catch (e) {
      throw new IntegrityError(`${peer} returned a certificate not signed by the invite's grid manager key ${shortKey(invite.gridManagerKey)}`, { cause: e });
    }
    if (!bytesEqual(cert.subject, keyPair.publicKey) || cert.role !== invite.role || cert.grid !== invite.areaCode) {
      throw new IntegrityError(`${peer} returned a certificate for another key, role or grid`);
    }
    return cert;
  } finally {
    client.close();
  }
}
