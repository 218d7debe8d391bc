export { loadJsonConfig, resolveFrom, writeJsonAtomic, describeIssues, listenAddress, hexKey, databaseSchema } from './load-config.js';
