/** Storage server: public entry points (docs/storage.md). */
export { startStorageServer, callerFromPrincipal, STORAGE_METHOD_ROLES } from './server.js';
export type { StorageServerOptions, RunningStorageServer } from './server.js';
export { loadStorageConfig, resolveStorageConfig, storageConfigSchema } from './config.js';
export type { StorageConfig } from './config.js';
export { READ_CHUNK_BYTES } from './handlers.js';
export type { GcResult } from './gc.js';
export type { ReconcileResult } from './reconcile.js';
