import { describe, expect, it } from 'vitest';
import { parseRange } from '../../../services/cli/commands/get.js';
import { InvalidArgumentError } from '../../../libs/errors/index.js';

describe('parseRange', () => {
  it('reads START-END as an inclusive range', () => {
    expect(parseRange('0-99')).toEqual({ offset: 0, length: 100 });
    expect(parseRange('5-5')).toEqual({ offset: 5, length: 1 });
  });

  it('reads START- as everything from START', () => {
    const r = parseRange('100-');
    expect(r.offset).toBe(100);
    expect(r.offset + r.length).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each(['', '-5', '5', 'a-b', '01-5', '5-4', '1.5-2', '0-99999999999999999999'])('rejects %j with InvalidArgumentError', (text) => {
    expect(() => parseRange(text)).toThrow(InvalidArgumentError);
  });
});
