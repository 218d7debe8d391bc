/**
 * The clearinghouse's caller rules (services/clearinghouse/caller-rules.ts),
 * the one home of "caller belongs to grid X" and "is an approved gateway",
 * and the policy hook that applies them per method (server.ts).
 */
import { describe, expect, it } from 'vitest';
import { issueCertificate, type Principal, type Role } from '../../../libs/auth/index.js';
import { generateKeyPair, toHex, type KeyPair } from '../../../libs/crypto/index.js';
import { PermissionError } from '../../../libs/errors/index.js';
import { checkApprovedGateway, checkGridMember, isApprovedGateway, type GridDirectory } from '../../../services/clearinghouse/caller-rules.js';
import { clearinghouseAdmission } from '../../../services/clearinghouse/server.js';
import type { GridMembership } from '../../../services/clearinghouse/grid-store.js';

const gm101 = generateKeyPair();
const gm202 = generateKeyPair();
const clearinghouse = generateKeyPair();

function principal(role: Role, grid: string, issuer: KeyPair, key: KeyPair = generateKeyPair()): Principal {
  const certificate = issueCertificate(issuer, { role, subject: key.publicKey, grid, notBefore: 0, notAfter: Date.now() + 60_000, limits: {} });
  return { publicKey: key.publicKey, certificate, role, grid, certificates: [certificate] };
}

function directory(grids: GridMembership[]): GridDirectory {
  return { membership: (a) => grids.find((g) => g.areaCode === a) };
}

const grids = directory([
  { areaCode: '101', gridManagerPublicKey: gm101.publicKey, suspended: false },
  { areaCode: '202', gridManagerPublicKey: gm202.publicKey, suspended: true },
]);
const noRevocations = { isGatewayRevoked: () => false };

describe('checkGridMember', () => {
  it('returns the grid of a contact point certified by that grid\'s manager', () => {
    expect(checkGridMember(grids, principal('contact-point', '101', gm101), 'contact point').areaCode).toBe('101');
  });

  it.each([
    ['an area code that is not admitted', principal('contact-point', '303', gm101), /contact point .* claims area code 303, which is not admitted/],
    ["a certificate issued by another grid's manager", principal('contact-point', '101', gm202), /its certificate for area code 101 is issued by .*, not by that grid's manager/],
    ['a suspended grid', principal('contact-point', '202', gm202), /^area code 202 is suspended$/],
  ])('refuses %s with PermissionError', (_what, p, message) => {
    expect(() => checkGridMember(grids, p, 'contact point')).toThrow(PermissionError);
    expect(() => checkGridMember(grids, p, 'contact point')).toThrow(message);
  });

  it('names the caller as told', () => {
    expect(() => checkGridMember(grids, principal('admin', '303', gm101), 'grid admin')).toThrow(/^grid admin .* claims area code 303/);
  });
});

describe('checkApprovedGateway', () => {
  it('accepts a gateway approved for an admitted, unsuspended grid', () => {
    expect(() => checkApprovedGateway(grids, noRevocations, principal('gateway-approval', '101', clearinghouse))).not.toThrow();
  });

  it.each([
    ['approved for an area code that is not admitted', '303', false, /is approved for area code 303, which is not admitted/],
    ['of a suspended grid', '202', false, /its area code 202 is suspended/],
    ['whose approval was revoked', '101', true, /its approval was revoked by the clearinghouse/],
  ])('refuses a gateway %s with PermissionError', (_what, grid, revoked, message) => {
    const p = principal('gateway-approval', grid, clearinghouse);
    const revocations = { isGatewayRevoked: (k: Uint8Array) => revoked && toHex(k) === toHex(p.publicKey) };
    expect(() => checkApprovedGateway(grids, revocations, p)).toThrow(PermissionError);
    expect(() => checkApprovedGateway(grids, revocations, p)).toThrow(message);
  });
});

describe('isApprovedGateway', () => {
  it('asks the approval book for that key, area code and time, with the allowed slack', () => {
    const asked: unknown[] = [];
    const book = { isApproved: (...args: unknown[]) => (asked.push(args), true) };
    expect(isApprovedGateway(book, 'ab', '101', 5, 7)).toBe(true);
    expect(asked).toEqual([['ab', '101', 5, 7]]);
  });
});

describe('clearinghouseAdmission (the policy hook)', () => {
  const admit = clearinghouseAdmission(grids, { isGatewayRevoked: () => true });
  const foreignContactPoint = principal('contact-point', '101', gm202);
  const foreignAdmin = principal('admin', '101', gm202);
  const revokedGateway = principal('gateway-approval', '101', clearinghouse);

  it.each(['RegisterContactPoint', 'DeregisterContactPoint', 'ListSanctions', 'ReportUsage'])('checks the grid of a contact point calling %s', (method) => {
    expect(() => admit(foreignContactPoint, method)).toThrow(/is issued by/);
    expect(() => admit(principal('contact-point', '101', gm101), method)).not.toThrow();
  });

  it.each(['ListPeriods', 'GetStatements'])('checks the grid of a grid admin calling %s, not the clearinghouse admin', (method) => {
    expect(() => admit(foreignAdmin, method)).toThrow(/^grid admin .* is issued by/);
    expect(() => admit(principal('clearinghouse-admin', '000', clearinghouse), method)).not.toThrow();
  });

  it('checks a resolving gateway, but lets a gateway report usage on its approval alone (its records are checked one by one)', () => {
    expect(() => admit(revokedGateway, 'Resolve')).toThrow(/revoked/);
    expect(() => admit(revokedGateway, 'ReportUsage')).not.toThrow();
  });

  it('asks nothing more of the operator methods', () => {
    for (const method of ['AdmitGrid', 'SetGridSuspended', 'ApproveGateway', 'ListGrids', 'ClosePeriod']) {
      expect(() => admit(principal('clearinghouse-admin', '000', clearinghouse), method)).not.toThrow();
    }
  });
});
