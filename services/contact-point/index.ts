/** Contact point service: public names (docs/contact-point.md). */
export { loadContactPointConfig, resolveContactPointConfig, writeContactPointConfig, contactPointConfigSchema } from './config.js';
export type { ContactPointConfig } from './config.js';
export { startContactPoint, CONTACT_POINT_METHOD_ROLES, CONTACT_POINT_MESSAGE_LIMIT } from './server.js';
export type { StartContactPointOptions, RunningContactPoint } from './server.js';
export { checkCap, checkReceipt, MAX_TRANSFER_ID_LENGTH } from './handlers.js';
export { checkGateway, checkNotSuspended } from './caller-rules.js';
export { SanctionsWatch, SUSPENDED_GRID, REVOKED_GATEWAY } from './sanctions.js';
export { ServedStore } from './served-store.js';
export type { GatewayTotal, ServedStoreOptions } from './served-store.js';
export type { ReceiptOutcome } from './receipt-intake.js';
export type { TransferRecord, TransferState } from './transfer-rows.js';
export { contactPointMigrations, CONTACT_POINT_MIGRATIONS_TABLE, CONTACT_POINT_TRANSFERS_TABLE, CONTACT_POINT_OUTBOX_TABLE } from './migrations.js';
export type { Registration } from './registration.js';
