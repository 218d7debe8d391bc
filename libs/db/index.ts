export { openDatabase } from './database.js';
export type { DatabaseConfig, Migration } from './database.js';
