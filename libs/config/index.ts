export { loadJsonConfig, requireReadableFiles, readJsonObjectIfPresent, resolveFrom, writeJsonAtomic, writeFileAtomic, fsyncPathSync, resolveDatabase, describeIssues, jsonSyntaxProblem, listenAddress, metricsSchema, hexKey, databaseSchema } from './load-config.js';
export { applyEnvOverrides, parseEnvValue, closestName, fieldNamesAt, ENV_PREFIX, type AppliedOverride } from './env-overrides.js';
