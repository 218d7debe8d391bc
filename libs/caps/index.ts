/**
 * libs/caps — CHK read-caps and verify-caps: parsing, formatting,
 * attenuation, storage index and area codes. The public names, by hand.
 */
export type { Cap, CapCommon, ReadCap, VerifyCap } from './types.js';
export { READ_KEY_BYTES, STORAGE_INDEX_BYTES, UEB_HASH_BYTES, MAX_SHARES, MAX_FILE_SIZE } from './types.js';
export { parseCap, formatCap, capStorageIndex, isLongDistance, withAreaCode } from './cap.js';
export { parseReadCap, formatReadCap } from './read-cap.js';
export { parseVerifyCap, formatVerifyCap, toVerifyCap } from './verify-cap.js';
export { READ_CAP_PREFIX, VERIFY_CAP_PREFIX } from './cap-text.js';
export { storageIndexFromReadKey, formatStorageIndex, parseStorageIndex, STORAGE_INDEX_TAG } from './storage-index.js';
export { AREA_CODE_PATTERN, areaCodeSchema, isAreaCode, assertAreaCode } from './area-code.js';
export { redactCap } from './redact.js';
