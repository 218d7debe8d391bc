/** CallerSlots (libs/rpc/limits.ts): the per-caller bound behind storage, contact point and gateway stream limits. */
import { describe, it, expect } from 'vitest';
import { CallerSlots } from '../../../libs/rpc/index.js';
import { BusyError } from '../../../libs/errors/index.js';
import { toStatus } from '../../../libs/rpc/status.js';
import { status as Status } from '@grpc/grpc-js';

describe('CallerSlots', () => {
  it('refuses the N+1-th slot of one caller with BusyError (RESOURCE_EXHAUSTED) while other callers get theirs', () => {
    const slots = new CallerSlots(2, 'FetchSegments calls');
    const a1 = slots.acquire('aa'.repeat(32));
    slots.acquire('aa'.repeat(32));
    let err: unknown;
    try {
      slots.acquire('aa'.repeat(32));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BusyError);
    expect((err as Error).message).toMatch(/too many FetchSegments calls: caller aaaaaaaaaaaaaaaa… already has 2 in progress \(limit 2 per caller\)/);
    expect(toStatus(err).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(() => slots.acquire('bb'.repeat(32))).not.toThrow();
    a1();
    a1(); // idempotent: a double release never frees a slot it does not hold
    expect(slots.inUse('aa'.repeat(32))).toBe(1);
    expect(() => slots.acquire('aa'.repeat(32))).not.toThrow();
  });

  it('run releases the slot whether fn resolves or throws', async () => {
    const slots = new CallerSlots(1, 'x');
    await expect(slots.run('c', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run('c', async () => 7)).resolves.toBe(7);
    expect(slots.inUse('c')).toBe(0);
  });
});
