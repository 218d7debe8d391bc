/**
 * Invite codes: the shared codec (libs/grid invite-codec.ts) keeps grid
 * invites (IG1-) byte-identical to before it was shared, federation invites
 * (IC1-) round-trip, and each kind refuses the other with a message saying
 * what the code is and which command takes it.
 */
import { describe, it, expect } from 'vitest';
import { decodeInvite, encodeInvite } from '../../../libs/grid/index.js';
import { decodeGridInvite, encodeGridInvite, gridInviteSecretHash, gridInviteSigningBytes, type GridInviteCode } from '../../../libs/federation/index.js';
import { inviteSecretHash } from '../../../libs/grid/index.js';
import { bytesEqual, generateKeyPair, randomBytes, toHex } from '../../../libs/crypto/index.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';

const secret = new Uint8Array(32).map((_, i) => i);
const key = new Uint8Array(32).map((_, i) => 255 - i);

/** Encoded by libs/grid/invite.ts before the codec was shared (commit e4b7c70). */
const IG1_VECTOR =
  'IG1-AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYP777X57T57V6PY673PL5HT6LY7B37O5XWOX2XJ5DT6NZPE4PRODYAOON2G64TBM5SS243FOJ3GK4QDGEYDCD3HNUXGK6DBNVYGYZJ2G4ZTAMCC3S3YW';

function federationInvite(extra: Partial<GridInviteCode> = {}): GridInviteCode {
  return { secret: randomBytes(32), clearinghousePublicKey: generateKeyPair().publicKey, name: 'east', areaCode: '301', address: 'ch.example:7000', ...extra };
}

describe('invite codes', () => {
  it('IG1: the shared codec encodes the pinned vector byte for byte and decodes it back', () => {
    const code = encodeInvite({ secret, gridManagerKey: key, role: 'storage-server', areaCode: '101', address: 'gm.example:7300' });
    expect(code).toBe(IG1_VECTOR);
    const inv = decodeInvite(IG1_VECTOR);
    expect(inv).toMatchObject({ role: 'storage-server', areaCode: '101', address: 'gm.example:7300' });
    expect(bytesEqual(inv.secret, secret) && bytesEqual(inv.gridManagerKey, key)).toBe(true);
  });

  it('IC1: round-trips every field, with and without an area code, ignoring case and whitespace', () => {
    for (const areaCode of ['301', '']) {
      const inv = federationInvite({ areaCode, name: 'Grid Öst' });
      const code = encodeGridInvite(inv);
      expect(code).toMatch(/^IC1-[A-Z2-7]+$/);
      const back = decodeGridInvite(`  ${code.toLowerCase()}\n`);
      expect(back).toEqual({ ...inv, secret: back.secret, clearinghousePublicKey: back.clearinghousePublicKey });
      expect(toHex(back.secret)).toBe(toHex(inv.secret));
      expect(toHex(back.clearinghousePublicKey)).toBe(toHex(inv.clearinghousePublicKey));
    }
  });

  it('IC1: a flipped character, a truncated code and bad base32 are "garbled"; the code is not echoed', () => {
    const code = encodeGridInvite(federationInvite());
    const flipped = code.slice(0, 12) + (code[12] === 'A' ? 'B' : 'A') + code.slice(13);
    expect(() => decodeGridInvite(flipped)).toThrow(/federation invite code is garbled: its checksum does not match/);
    expect(() => decodeGridInvite(code.slice(0, -5))).toThrow(InvalidArgumentError);
    expect(() => decodeGridInvite('IC1-!!!')).toThrow(/garbled: not valid base32/);
    const err = (() => {
      try {
        decodeGridInvite(flipped);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).not.toContain(code.slice(4, 30));
  });

  it('IC1: a wrong prefix names the expected one; empty name or a field over 255 bytes cannot be encoded', () => {
    expect(() => decodeGridInvite('hello')).toThrow(/not an Intergrid federation invite code: it should start with IC1-/);
    expect(() => decodeGridInvite('IC2-AAAA')).toThrow(/should start with IC1-/);
    expect(() => encodeGridInvite(federationInvite({ name: '' }))).toThrow(/invite name must be 1..255 bytes/);
    expect(() => encodeGridInvite(federationInvite({ name: 'x'.repeat(256) }))).toThrow(/invite name must be 1..255 bytes/);
    expect(() => encodeGridInvite(federationInvite({ secret: new Uint8Array(31) }))).toThrow(InvalidArgumentError);
  });

  it('an IG1 code given to the federation decoder, and an IC1 code given to the grid decoder, say what they are', () => {
    expect(() => decodeGridInvite(IG1_VECTOR)).toThrow(/this is a grid invite \(IG1-\).*intergrid join CODE --dir DIR/);
    const ic1 = encodeGridInvite(federationInvite());
    expect(() => decodeInvite(ic1)).toThrow(/this is a federation invite \(IC1-\).*intergrid grid join-federation CODE --config/);
  });

  it('federation secrets and signatures are domain-separated from grid invites', () => {
    const s = randomBytes(32);
    expect(toHex(gridInviteSecretHash(s))).not.toBe(toHex(inviteSecretHash(s)));
    const h = gridInviteSecretHash(s);
    const k = generateKeyPair().publicKey;
    // Every bound value changes the signed bytes.
    const base = toHex(gridInviteSigningBytes(h, '301', k, 1000));
    expect(toHex(gridInviteSigningBytes(h, '302', k, 1000))).not.toBe(base);
    expect(toHex(gridInviteSigningBytes(h, '301', k, 1001))).not.toBe(base);
    expect(toHex(gridInviteSigningBytes(h, '301', generateKeyPair().publicKey, 1000))).not.toBe(base);
    expect(toHex(gridInviteSigningBytes(gridInviteSecretHash(randomBytes(32)), '301', k, 1000))).not.toBe(base);
  });
});
