/** Grid manager service: public names (docs/grid-manager.md). */
export { loadGridManagerConfig, resolveGridManagerConfig, gridManagerConfigSchema, DEFAULT_CERTIFICATE_LIFETIMES } from './config.js';
export type { GridManagerConfig } from './config.js';
export { initGridManager, loadAdminIdentity, GRID_KEY_FILE, ADMIN_KEY_FILE, ADMIN_IDENTITY_FILE, CONFIG_FILE } from './init.js';
export type { InitGridManagerOptions, InitGridManagerResult, AdminIdentity } from './init.js';
export { startGridManager, GRID_MANAGER_METHOD_ROLES } from './server.js';
export type { StartGridManagerOptions, RunningGridManager } from './server.js';
export { issueGridCertificate } from './grid-certificate.js';
export type { GridIssuer, GridCertificateRequest } from './grid-certificate.js';
