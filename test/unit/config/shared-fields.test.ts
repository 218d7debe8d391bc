/**
 * Fields every config shares have one definition each: the area code
 * (libs/caps areaCodeSchema), the request clock bound (libs/auth
 * maxClockSkewSchema, default DEFAULT_MAX_SKEW_MS) and the share-count bound
 * (libs/erasure MAX_SHARES). Each schema holds the very same zod object, so
 * a change to the rule reaches all of them.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_SKEW_MS, maxClockSkewSchema } from '../../../libs/auth/index.js';
import { areaCodeSchema, AREA_CODE_PATTERN, MAX_SHARES as CAPS_MAX_SHARES } from '../../../libs/caps/index.js';
import { clientConfigSchema } from '../../../libs/client/index.js';
import { MAX_SHARES } from '../../../libs/erasure/index.js';
import { MAX_SHARES as FORMAT_MAX_SHARES } from '../../../libs/format/index.js';
import { clearinghouseConfigSchema } from '../../../services/clearinghouse/index.js';
import { contactPointConfigSchema } from '../../../services/contact-point/index.js';
import { gatewayConfigSchema } from '../../../services/gateway/index.js';
import { gridManagerConfigSchema } from '../../../services/grid-manager/index.js';
import { storageConfigSchema } from '../../../services/storage/index.js';
import { MAX_SHARE_NUMBER } from '../../../services/storage/request-checks.js';

describe('areaCodeSchema', () => {
  it.each(['101', '000', '007', '12345678', '99999999'])('accepts %j', (code) => {
    expect(areaCodeSchema.parse(code)).toBe(code);
  });

  it.each<[string, unknown]>([
    ['empty', ''],
    ['2 digits', '12'],
    ['9 digits', '123456789'],
    ['a letter', '21a'],
    ['a leading blank', ' 212'],
    ['a trailing newline', '212\n'],
    ['fullwidth digits', '２１２'],
    ['a sign', '+212'],
    ['a number, not a string', 212],
  ])('refuses %s', (_what, code) => {
    const r = areaCodeSchema.safeParse(code);
    expect(r.success).toBe(false);
    if (typeof code === 'string') expect(r.error!.issues[0]!.message).toBe('expected 3-8 decimal digits');
  });

  it('is the grammar AREA_CODE_PATTERN', () => {
    for (const code of ['101', '12', '123456789', '1a3']) expect(areaCodeSchema.safeParse(code).success).toBe(AREA_CODE_PATTERN.test(code));
  });

  it.each([
    ['client.json', clientConfigSchema],
    ['grid-manager', gridManagerConfigSchema],
    ['gateway', gatewayConfigSchema],
    ['contact-point', contactPointConfigSchema],
  ] as const)('is the areaCode field of the %s config', (_name, schema) => {
    expect(schema.shape.areaCode).toBe(areaCodeSchema);
  });
});

describe('maxClockSkewSchema', () => {
  it.each([
    ['storage', storageConfigSchema],
    ['grid-manager', gridManagerConfigSchema],
    ['clearinghouse', clearinghouseConfigSchema],
    ['gateway', gatewayConfigSchema],
    ['contact-point', contactPointConfigSchema],
  ] as const)('is the maxClockSkewMs field of the %s config', (_name, schema) => {
    expect(schema.shape.maxClockSkewMs).toBe(maxClockSkewSchema);
  });

  it('defaults to DEFAULT_MAX_SKEW_MS, 60 s (unchanged)', () => {
    expect(DEFAULT_MAX_SKEW_MS).toBe(60_000);
    expect(maxClockSkewSchema.parse(undefined)).toBe(DEFAULT_MAX_SKEW_MS);
  });

  it.each([0, -1, 1.5, 365 * 24 * 3600 * 1000 + 1, '60000'])('refuses %j', (v) => {
    expect(maxClockSkewSchema.safeParse(v).success).toBe(false);
  });

  it.each([1, 60_000, 365 * 24 * 3600 * 1000])('accepts %j', (v) => {
    expect(maxClockSkewSchema.parse(v)).toBe(v);
  });
});

describe('MAX_SHARES', () => {
  it('is 256 wherever it is read: the codec, caps, the format and the storage server (share numbers 0..255)', () => {
    expect(MAX_SHARES).toBe(256);
    expect(CAPS_MAX_SHARES).toBe(MAX_SHARES);
    expect(FORMAT_MAX_SHARES).toBe(MAX_SHARES);
    expect(MAX_SHARE_NUMBER).toBe(MAX_SHARES - 1);
  });
});
