/**
 * Who may report what (docs/billing.md "Checks"): after a record's
 * signatures verified (record-opener.ts), its signer must be the caller, and
 * the caller must speak for the right grid:
 *
 * - 'served': the caller is a contact point of `exporter`; the receipt it
 *   carries (if any) is signed by a gateway approved for `importer`.
 * - 'receipt': the caller is a gateway approved for `importer` (its approval
 *   certificate's grid).
 */
import type { OpenedRecord } from './record-opener.js';

/** The authenticated caller of ReportUsage. */
export interface Reporter {
  role: 'contact-point' | 'gateway';
  /** Caller's public key, lowercase hex. */
  key: string;
  /** The caller's grid: the contact point's area code, or the gateway's approved area code. */
  areaCode: string;
}

/** Answers whether a gateway key was approved for an area code at a time. */
export type ApprovalCheck = (gatewayKey: string, areaCode: string, atMs: number) => boolean;

const short = (hex: string): string => `${hex.slice(0, 8)}…`;

/** Why `r` may not be stored for `caller`, or undefined when it may. */
export function recordProblem(r: OpenedRecord, caller: Reporter, approved: ApprovalCheck): string | undefined {
  const id = `record ${r.recordId}`;
  if (caller.role === 'contact-point') {
    if (r.kind !== 'served') return `${id}: a contact point reports only 'served' records, not '${r.kind}'`;
    if (r.signer !== caller.key) return `${id}: signed by contact point ${short(r.signer)}, not by the caller ${short(caller.key)}`;
    if (r.exporter !== caller.areaCode) return `${id}: exporter is area code ${r.exporter}, but the caller is a contact point of ${caller.areaCode}`;
    if (r.embedded && !approved(r.embedded.gateway, r.importer, r.embedded.atMs)) {
      return `${id}: its receipt is signed by gateway ${short(r.embedded.gateway)}, which was not approved for importer ${r.importer} at ${new Date(r.embedded.atMs).toISOString()}`;
    }
    return undefined;
  }
  if (r.kind !== 'receipt') return `${id}: a gateway reports only 'receipt' records, not '${r.kind}'`;
  if (r.signer !== caller.key) return `${id}: signed by gateway ${short(r.signer)}, not by the caller ${short(caller.key)}`;
  if (r.importer !== caller.areaCode) return `${id}: importer is area code ${r.importer}, but the caller is a gateway approved for ${caller.areaCode}`;
  return undefined;
}
