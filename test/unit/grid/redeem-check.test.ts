/** The one redeem-authentication rule of both invite services (libs/grid/redeem-check.ts). */
import { describe, expect, it } from 'vitest';
import { authenticateRedeem, inviteSecretHash, redeemSigningBytes, type RedeemRule } from '../../../libs/grid/index.js';
import { generateKeyPair, randomBytes, sign, toHex } from '../../../libs/crypto/index.js';
import { InvalidArgumentError, PermissionError } from '../../../libs/errors/index.js';

const NOW = 1_800_000_000_000;
const key = generateKeyPair();
const secret = randomBytes(32);
const rule = (atMs: number): RedeemRule => ({
  secretBytes: 32,
  hashSecret: inviteSecretHash,
  signingBytes: (h) => redeemSigningBytes(h, 'storage-server', key.publicKey, atMs),
  now: NOW,
  maxSkewMs: 60_000,
  clockOf: "the grid manager's",
  keyName: 'the key',
});
const signed = (atMs: number, s = secret, by = key.secretKey) => ({
  secret: s,
  atMs,
  key: key.publicKey,
  signature: sign(redeemSigningBytes(inviteSecretHash(s), 'storage-server', key.publicKey, atMs), by),
});

describe('authenticateRedeem', () => {
  it("returns the secret's hash for a request signed by the named key within the skew", () => {
    expect(toHex(authenticateRedeem(signed(NOW - 59_000), rule(NOW - 59_000)))).toBe(toHex(inviteSecretHash(secret)));
  });

  it('refuses a secret of the wrong length', () => {
    const req = signed(NOW, randomBytes(31));
    expect(() => authenticateRedeem(req, rule(NOW))).toThrow(InvalidArgumentError);
    expect(() => authenticateRedeem(req, rule(NOW))).toThrow('invite secret must be 32 bytes');
  });

  it("refuses a time off this service's clock by more than the skew, naming how far", () => {
    const at = NOW + 120_000;
    expect(() => authenticateRedeem(signed(at), rule(at))).toThrow(PermissionError);
    expect(() => authenticateRedeem(signed(at), rule(at))).toThrow("redeem request time is 120 s off the grid manager's clock (more than the allowed skew)");
  });

  it('refuses a signature by another key, or over other bytes', () => {
    expect(() => authenticateRedeem(signed(NOW, secret, generateKeyPair().secretKey), rule(NOW))).toThrow('redeem request is not signed by the key it names');
    expect(() => authenticateRedeem(signed(NOW), rule(NOW + 1))).toThrow(PermissionError);
  });
});
