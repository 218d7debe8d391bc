/**
 * libs/federation — what joins grids through the clearinghouse: signed
 * resolutions of area codes, the typed clearinghouse client and federation
 * invites (a grid joining the clearinghouse)
 * (docs/clearinghouse.md). The clearinghouse service itself lives in
 * services/clearinghouse.
 */
export { RESOLUTION_TAG, RESOLUTION_VERSION, signResolution, openResolution } from './resolution.js';
export type { Resolution, ResolutionBody, ResolutionContactPoint } from './resolution.js';
export { connectClearinghouse } from './clearinghouse-client.js';
export type { ClearinghouseConnection, ConnectClearinghouseOptions, GridInfo, AdmitGridInput, ApproveGatewayInput, CreateGridInviteInput, CreatedGridInvite, SanctionInfo } from './clearinghouse-client.js';
export { encodeGridInvite, decodeGridInvite, gridInviteSigningBytes, gridInviteSecretHash, GRID_INVITE_PREFIX, GRID_INVITE_SECRET_BYTES } from './grid-invite.js';
export type { GridInviteCode } from './grid-invite.js';
export { redeemGridInvite } from './grid-invite-client.js';
export { clearinghouseUsageSender, clearinghouseRpcClient, usageRecordPayload, CLEARINGHOUSE_CHANNEL, MAX_RECORDS_PER_REPORT } from './usage-sender.js';
export type { UsageRecordPayload, UsageSenderOptions } from './usage-sender.js';
export { connectLedger } from './ledger-client.js';
export type { LedgerConnection, UsageRecordInput, RecordOutcome, DisputeInfo, PeriodSummaryInfo, LedgerSnapshotInfo, SignedStatements } from './ledger-client.js';
