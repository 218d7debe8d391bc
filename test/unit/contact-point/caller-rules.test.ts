/**
 * The contact point's policy hook (server.ts contactPointAdmission): which
 * gateways each method serves, from the rules in caller-rules.ts.
 */
import { describe, expect, it } from 'vitest';
import { issueCertificate, type Principal, type Role } from '../../../libs/auth/index.js';
import { generateKeyPair } from '../../../libs/crypto/index.js';
import { PermissionError } from '../../../libs/errors/index.js';
import { checkNotSuspended } from '../../../services/contact-point/index.js';
import { contactPointAdmission } from '../../../services/contact-point/server.js';

const issuer = generateKeyPair();

function principal(grid: string, role: Role = 'gateway-approval'): Principal {
  const key = generateKeyPair();
  const certificate = issueCertificate(issuer, { role, subject: key.publicKey, grid, notBefore: 0, notAfter: Date.now() + 60_000, limits: {} });
  return { publicKey: key.publicKey, certificate, role, grid, certificates: [certificate] };
}

const admit = contactPointAdmission('101', (a) => a === '303');

describe('contactPointAdmission', () => {
  it.each(['FetchSegments', 'SubmitReceipt'])('refuses a gateway of its own grid on %s', (method) => {
    expect(() => admit(principal('101'), method)).toThrow(PermissionError);
    expect(() => admit(principal('101'), method)).toThrow(/this contact point's own grid/);
  });

  it('refuses FetchSegments to a suspended grid\'s gateway, but takes its receipts', () => {
    expect(() => admit(principal('303'), 'FetchSegments')).toThrow(/area code 303 is suspended by the clearinghouse/);
    expect(() => admit(principal('303'), 'SubmitReceipt')).not.toThrow();
  });

  it('serves a gateway of another, unsuspended grid', () => {
    expect(() => admit(principal('202'), 'FetchSegments')).not.toThrow();
    expect(() => admit(principal('202'), 'SubmitReceipt')).not.toThrow();
  });

  it('asks nothing more of its own admin reading the meter', () => {
    expect(() => admit(principal('101', 'admin'), 'GetUsage')).not.toThrow();
  });
});

describe('checkNotSuspended', () => {
  it('accepts every grid when no suspension list is known', () => {
    expect(() => checkNotSuspended(principal('303'), undefined)).not.toThrow();
  });
});
