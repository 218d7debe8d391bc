import { describe, it, expect } from 'vitest';
import { NotFoundError, PreconditionError, UnavailableError } from '../../../libs/errors/index.js';
import type { Resolution } from '../../../libs/federation/index.js';
import { Resolver, type ResolutionSource } from '../../../services/gateway/index.js';

function resolution(areaCode: string, issuedAtMs: number, expiresAtMs: number, price = 1): Resolution {
  return { version: 1, areaCode, gridManager: new Uint8Array(32), priceUnitsPerGib: price, issuedAtMs, expiresAtMs, contactPoints: [] };
}

/** A source that counts calls and answers with `answer(areaCode, call number)`. */
function source(answer: (areaCode: string, n: number) => Promise<Resolution>): ResolutionSource & { calls: number } {
  const s = {
    calls: 0,
    resolve(areaCode: string) {
      s.calls += 1;
      return answer(areaCode, s.calls);
    },
  };
  return s;
}

describe('Resolver', () => {
  it('reuses a resolution within resolutionCacheMs', async () => {
    let now = 1000;
    const src = source(async (a, n) => resolution(a, now, now + 60_000, n));
    const r = new Resolver(src, { cacheMs: 5000, now: () => now });
    expect((await r.resolve('202')).priceUnitsPerGib).toBe(1);
    now += 4999;
    expect((await r.resolve('202')).priceUnitsPerGib).toBe(1);
    expect(src.calls).toBe(1);
  });

  it('asks again once resolutionCacheMs has passed', async () => {
    let now = 1000;
    const src = source(async (a, n) => resolution(a, now, now + 60_000, n));
    const r = new Resolver(src, { cacheMs: 5000, now: () => now });
    await r.resolve('202');
    now += 5000;
    expect((await r.resolve('202')).priceUnitsPerGib).toBe(2);
  });

  it('never reuses a resolution past its own expiresAtMs, even within resolutionCacheMs', async () => {
    let now = 1000;
    const src = source(async (a, n) => resolution(a, now, now + 100, n));
    const r = new Resolver(src, { cacheMs: 60_000, now: () => now });
    await r.resolve('202');
    now += 100;
    expect((await r.resolve('202')).priceUnitsPerGib).toBe(2);
  });

  it('shares one clearinghouse request between concurrent resolutions of one area code', async () => {
    const src = source(async (a) => resolution(a, Date.now(), Date.now() + 60_000));
    const r = new Resolver(src, { cacheMs: 0 });
    await Promise.all([r.resolve('202'), r.resolve('202'), r.resolve('202')]);
    expect(src.calls).toBe(1);
  });

  it('keeps the class of NOT_FOUND and FAILED_PRECONDITION answers and names the area code', async () => {
    const src = source(async (a) => {
      if (a === '404') throw new NotFoundError('area code 404 is not admitted');
      throw new PreconditionError('grid 412 is suspended');
    });
    const r = new Resolver(src, { cacheMs: 60_000 });
    await expect(r.resolve('404')).rejects.toThrow(NotFoundError);
    await expect(r.resolve('404')).rejects.toThrow(/resolving area code 404 at the clearinghouse/);
    await expect(r.resolve('412')).rejects.toThrow(PreconditionError);
  });

  it('does not cache failures', async () => {
    const src = source(async (a, n) => {
      if (n === 1) throw new UnavailableError('clearinghouse down');
      return resolution(a, Date.now(), Date.now() + 60_000);
    });
    const r = new Resolver(src, { cacheMs: 60_000 });
    await expect(r.resolve('202')).rejects.toThrow(UnavailableError);
    await expect(r.resolve('202')).resolves.toMatchObject({ areaCode: '202' });
  });

  it('turns a non-domain failure into UNAVAILABLE naming the area code', async () => {
    const r = new Resolver(source(async () => Promise.reject(new Error('socket hang up'))), { cacheMs: 0 });
    await expect(r.resolve('202')).rejects.toThrow(/area code 202.*socket hang up/);
  });
});
