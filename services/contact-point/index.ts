/** Contact point service: public names (docs/contact-point.md). */
export { loadContactPointConfig, resolveContactPointConfig, writeContactPointConfig, contactPointConfigSchema } from './config.js';
export type { ContactPointConfig } from './config.js';
export { startContactPoint, CONTACT_POINT_METHOD_ROLES, CONTACT_POINT_MESSAGE_LIMIT } from './server.js';
export type { StartContactPointOptions, RunningContactPoint } from './server.js';
export { checkCap, checkGateway, requestRange, MAX_TRANSFER_ID_LENGTH } from './handlers.js';
export { TransferMeter } from './transfer-meter.js';
export type { TransferRecord, TransferState, GatewayTotal } from './transfer-meter.js';
export type { Registration } from './registration.js';
