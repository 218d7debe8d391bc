/**
 * Redeeming a federation invite code (grid-invite.ts) at the clearinghouse's
 * FederationInvite service: the grid manager holds no clearinghouse
 * certificate, so the call carries the invite secret and a signature by the
 * grid key instead of the auth interceptor's.
 */
import { pinnedClient } from '../auth/index.js';
import { assertAreaCode } from '../caps/index.js';
import { bytesEqual, sign, type KeyPair } from '../crypto/index.js';
import { IntegrityError, InvalidArgumentError } from '../errors/index.js';
import { call, clearinghouseProto } from '../rpc/index.js';
import type { FederationInviteClient, RedeemGridInviteRequest, GridRecord__Output } from '../rpc/proto-types.js';
import { gridInfo, type GridInfo } from './clearinghouse-client.js';
import { gridInviteSecretHash, gridInviteSigningBytes, type GridInviteCode } from './grid-invite.js';

/**
 * Redeems `invite` for the grid whose manager holds `gridKey` and is
 * configured with `areaCode`, and returns the admitted grid, checked to be
 * this key under this area code.
 * @throws InvalidArgumentError (locally) when the invite names another area code;
 *   PermissionError / PreconditionError / AlreadyExistsError from the clearinghouse
 *   (forged, used, expired, other area code, area code or key already admitted).
 */
export async function redeemGridInvite(
  invite: GridInviteCode,
  gridKey: KeyPair,
  areaCode: string,
  opts: { now?: number; deadlineMs?: number } = {},
): Promise<GridInfo> {
  assertAreaCode('area code', areaCode);
  if (invite.areaCode !== '' && invite.areaCode !== areaCode) {
    throw new InvalidArgumentError(`this invite is for area code ${invite.areaCode}, but the grid manager is configured with area code ${areaCode}`);
  }
  const Ctor = clearinghouseProto().intergrid.clearinghouse.FederationInvite;
  // Pinned to the invite's clearinghouse key: an on-path party can neither read the secret nor answer in its place.
  const client = pinnedClient<FederationInviteClient>(Ctor, { address: invite.address, publicKey: invite.clearinghousePublicKey });
  const peer = `clearinghouse ${invite.address}`;
  try {
    const atMs = opts.now ?? Date.now();
    const signature = sign(gridInviteSigningBytes(gridInviteSecretHash(invite.secret), areaCode, gridKey.publicKey, atMs), gridKey.secretKey);
    const res = await call<RedeemGridInviteRequest, GridRecord__Output>(
      client,
      client.redeem,
      { secret: Buffer.from(invite.secret), areaCode, gridManagerPublicKey: Buffer.from(gridKey.publicKey), atMs, signature: Buffer.from(signature) },
      { peer, deadlineMs: opts.deadlineMs },
    );
    const g = gridInfo(res);
    if (g.areaCode !== areaCode || !bytesEqual(g.gridManagerPublicKey, gridKey.publicKey)) {
      throw new IntegrityError(`${peer} answered with the record of another grid (area code ${g.areaCode.slice(0, 16)})`);
    }
    return g;
  } finally {
    client.close();
  }
}
