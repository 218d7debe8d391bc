export { openDatabase, lockForAppend, isPostgres, describeDatabase } from './database.js';
export type { DatabaseConfig, Migration } from './database.js';
