/**
 * Which grid a clearinghouse caller speaks for, and whether it is an
 * approved gateway: the one definition of each rule. The auth policy
 * (server.ts `admit`, run by libs/auth before any handler and before the
 * nonce is stored) applies them per call; ReportUsage applies the
 * per-record ones (usage-check.ts) to each record of a batch.
 *
 * Everything here is synchronous: the policy hook must answer at once, so
 * grids are read from GridStore's in-memory membership and revocations from
 * SanctionStore's.
 */
import type { Principal } from '../../libs/auth/index.js';
import { bytesEqual, shortKey } from '../../libs/crypto/index.js';
import { PermissionError } from '../../libs/errors/index.js';
import type { GridMembership } from './grid-store.js';

/** The admitted grids, as the policy sees them (GridStore.membership). */
export interface GridDirectory {
  membership(areaCode: string): GridMembership | undefined;
}

/** Revoked gateway approvals (SanctionStore.isGatewayRevoked). */
export interface GatewayRevocations {
  isGatewayRevoked(gatewayKey: Uint8Array): boolean;
}

/** Recorded gateway approvals with their validity windows (LedgerStore.isApproved). */
export interface ApprovalBook {
  isApproved(gatewayKey: string, areaCode: string, atMs: number, slackMs?: number): boolean;
}

/**
 * A caller with a grid-issued certificate (contact-point, or a grid's
 * 'admin') belongs to the grid its certificate names. The auth check already
 * verified the certificate under the key of some admitted, unsuspended grid;
 * this checks that it is the key of the grid the certificate names, so one
 * grid manager cannot act for another grid, and that the grid is not
 * suspended. `what` names the caller in the message ('contact point', 'grid admin').
 * @throws PermissionError naming the caller and the area code.
 */
export function checkGridMember(grids: GridDirectory, p: Principal, what: string): GridMembership {
  const cert = p.certificate;
  const grid = grids.membership(cert.grid);
  if (!grid) throw new PermissionError(`${what} ${shortKey(p.publicKey)} claims area code ${cert.grid}, which is not admitted`);
  if (!bytesEqual(grid.gridManagerPublicKey, cert.issuer)) {
    throw new PermissionError(
      `${what} ${shortKey(p.publicKey)}: its certificate for area code ${cert.grid} is issued by ${shortKey(cert.issuer)}, ` +
        `not by that grid's manager ${shortKey(grid.gridManagerPublicKey)}`,
    );
  }
  if (grid.suspended) throw new PermissionError(`area code ${grid.areaCode} is suspended`);
  return grid;
}

/**
 * A gateway (its 'gateway-approval' certificate, issued by this
 * clearinghouse and valid now: the auth check verified that) speaks for the
 * area code it is approved for, which must be admitted and not suspended (a
 * suspended grid's gateways are cut off too), and its approval must not have
 * been revoked.
 * @throws PermissionError naming the gateway.
 */
export function checkApprovedGateway(grids: GridDirectory, revocations: GatewayRevocations, p: Principal): void {
  const own = grids.membership(p.grid);
  if (!own) throw new PermissionError(`gateway ${shortKey(p.publicKey)} is approved for area code ${p.grid}, which is not admitted`);
  if (own.suspended) throw new PermissionError(`gateway ${shortKey(p.publicKey)}: its area code ${p.grid} is suspended`);
  if (revocations.isGatewayRevoked(p.publicKey)) throw new PermissionError(`gateway ${shortKey(p.publicKey)}: its approval was revoked by the clearinghouse`);
}

/**
 * Whether gateway `gatewayKey` (hex) was approved for `areaCode` at `atMs`:
 * some recorded approval window of it for that area code covers `atMs`,
 * widened by `slackMs` of allowed clock skew on either side. The window is
 * that of the approval certificate (recorded when ApproveGateway issues it,
 * and again whenever a gateway presents one to ReportUsage).
 */
export function isApprovedGateway(approvals: ApprovalBook, gatewayKey: string, areaCode: string, atMs: number, slackMs: number): boolean {
  return approvals.isApproved(gatewayKey, areaCode, atMs, slackMs);
}
