/**
 * Cap text for logs. A read key must never reach a log, but operators still
 * need to tell files apart: the redacted form keeps the kind, the storage
 * index (computed from the key for a read-cap — it is public, servers file
 * shares under it), k, n, size and area code.
 *
 *   read-cap(si=<26 base32>, k=3, n=10, size=1024, area=212)
 *   verify-cap(si=<26 base32>, k=3, n=10, size=1024)
 *   invalid-cap('URI:CHK:…')
 */
import { toBase32 } from './base32.js';
import { quoteCap } from './cap-text.js';
import { capStorageIndex, formatCap, parseCap } from './cap.js';
import type { Cap } from './types.js';

/**
 * A log-safe description of a cap (text or parsed). Never throws; invalid
 * input becomes `invalid-cap(<quoted prefix>)` with no more than 8 raw characters.
 */
export function redactCap(cap: string | Cap): string {
  try {
    // An object goes through its canonical text too, so a malformed object
    // (wrong lengths, odd types) is reported as invalid, never half-printed.
    const parsed = parseCap(typeof cap === 'string' ? cap : formatCap(cap));
    const si = toBase32(capStorageIndex(parsed));
    const area = parsed.areaCode === undefined ? '' : `, area=${parsed.areaCode}`;
    return `${parsed.kind}-cap(si=${si}, k=${parsed.k}, n=${parsed.n}, size=${parsed.size}${area})`;
  } catch {
    return typeof cap === 'string' ? `invalid-cap(${quoteCap(cap.trimStart())})` : 'invalid-cap(object)';
  }
}
