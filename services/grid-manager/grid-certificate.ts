/**
 * Issuing this grid's certificates: the one place that decides what a grid
 * certificate carries (role, subject, area code, validity, limits).
 */
import { issueCertificate, validityWindow, type Certificate } from '../../libs/auth/index.js';
import type { KeyPair } from '../../libs/crypto/index.js';
import type { GridRole } from '../../libs/grid/index.js';

/** The grid key, the grid's area code and the default lifetime per role. */
export interface GridIssuer {
  gridKey: KeyPair;
  areaCode: string;
  lifetimes: Record<GridRole, number>;
}

/** What one certificate is for. `validityMs` 0 = the role's default; `quotaBytes` 0 = unlimited (clients only). */
export interface GridCertificateRequest {
  subject: Uint8Array;
  role: GridRole;
  validityMs: number;
  quotaBytes: number;
}

/**
 * Issues a certificate under the grid key, valid from a minute before `now`
 * (clock slack) for the requested or default lifetime. Clients always carry
 * `limits.quota_bytes` (0 = unlimited), so storage servers never guess.
 * @throws InvalidArgumentError for a bad subject or lifetime.
 */
export function issueGridCertificate(issuer: GridIssuer, now: number, req: GridCertificateRequest): Certificate {
  const lifetime = req.validityMs > 0 ? req.validityMs : issuer.lifetimes[req.role];
  const limits: Record<string, number> = req.role === 'client' ? { quota_bytes: req.quotaBytes } : {};
  return issueCertificate(issuer.gridKey, {
    role: req.role,
    subject: req.subject,
    grid: issuer.areaCode,
    ...validityWindow(now, lifetime),
    limits,
  });
}
