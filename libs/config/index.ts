export { loadJsonConfig, readJsonObjectIfPresent, resolveFrom, writeJsonAtomic, writeFileAtomic, resolveDatabase, describeIssues, listenAddress, hexKey, databaseSchema } from './load-config.js';
