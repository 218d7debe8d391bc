/** Clearinghouse service: public names (docs/clearinghouse.md). */
export { loadClearinghouseConfig, resolveClearinghouseConfig, clearinghouseConfigSchema } from './config.js';
export type { ClearinghouseConfig } from './config.js';
export {
  initClearinghouse,
  CLEARINGHOUSE_KEY_FILE,
  CLEARINGHOUSE_ADMIN_KEY_FILE,
  CLEARINGHOUSE_ADMIN_FILE,
  CLEARINGHOUSE_CONFIG_FILE,
  CLEARINGHOUSE_GRID,
  loadClearinghouseAdmin,
} from './init.js';
export type { InitClearinghouseOptions, InitClearinghouseResult, ClearinghouseAdmin } from './init.js';
export { startClearinghouse, CLEARINGHOUSE_METHOD_ROLES } from './server.js';
export type { StartClearinghouseOptions, RunningClearinghouse } from './server.js';
export { GridStore } from './grid-store.js';
export type { GridRow, PriceRecord, ContactPointRecord } from './grid-store.js';
export { LedgerStore, DISPUTE_RESOLUTIONS } from './ledger-store.js';
export type { IngestRecord, IngestOutcome, DisputeResolution, LedgerSnapshot } from './ledger-store.js';
export { PeriodStore } from './period-store.js';
// The typed client of the billing RPCs lives in libs/federation (grid managers use it too).
export { connectLedger } from '../../libs/federation/index.js';
export type { LedgerConnection, UsageRecordInput, RecordOutcome, DisputeInfo, PeriodSummaryInfo, LedgerSnapshotInfo, SignedStatements } from '../../libs/federation/index.js';
