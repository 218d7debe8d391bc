/**
 * libs/grid — what every member of a grid shares with its grid manager: the
 * grid roles, the signed server directory, the usage-report shape, and the
 * typed grid-manager client (docs/grid-manager.md). The grid manager service
 * itself lives in services/grid-manager.
 */
export { GRID_ROLES, isGridRole } from './grid-roles.js';
export type { GridRole } from './grid-roles.js';
export type { UsageReportInput, AccountUsageLine } from './usage-report.js';
export { signDirectory, openDirectory, DIRECTORY_VERSION } from './directory.js';
export type { Directory, DirectoryServer } from './directory.js';
export { connectGridManager } from './grid-manager-client.js';
export type {
  GridManagerConnection,
  ConnectGridManagerOptions,
  ApproveInput,
  PrincipalInfo,
  AccountTallyInfo,
  TransferTallyInfo,
  RevocationInfo,
  CreateInviteInput,
  CreatedInvite,
  ServerStatusInfo,
  WatchedFileInfo,
} from './grid-manager-client.js';
export { encodeInvite, decodeInvite, redeemSigningBytes, inviteSecretHash, INVITE_PREFIX, INVITE_SECRET_BYTES } from './invite.js';
export type { InviteCode } from './invite.js';
export { redeemInvite } from './invite-client.js';
export { encodeInviteCode, decodeInviteCode } from './invite-codec.js';
export type { InviteLayout, InviteField } from './invite-codec.js';
export { authenticateRedeem } from './redeem-check.js';
export type { RedeemRequest, RedeemRule } from './redeem-check.js';
export { RevokedSet, createRevokedSetTables, pollGridRevocations, REVOKED_KEY } from './revoked-set.js';
export type { RevokedChange } from './revoked-set.js';
export { inviteLifetimeField, DEFAULT_INVITE_LIFETIME_MS, MAX_INVITE_LIFETIME_MS } from './invite-lifetime.js';
