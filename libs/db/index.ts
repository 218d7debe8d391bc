export { openDatabase, lockForAppend, isPostgres } from './database.js';
export type { DatabaseConfig, Migration } from './database.js';
