/**
 * Fuzzing the parser: arbitrary strings and mutations of valid caps either
 * parse to a cap whose canonical text is the input itself (one text per cap),
 * or throw CapParseError — never anything else, never a read key in the message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCap, parseCap, redactCap } from '../../../libs/caps/index.js';
import { CapParseError } from '../../../libs/errors/index.js';
import { capArb } from './helpers.js';

/** Parses `text`; a success must reproduce `text`, a failure must be a CapParseError. */
function checkParse(text: string): boolean {
  let cap;
  try {
    cap = parseCap(text);
  } catch (e) {
    if (!(e instanceof CapParseError)) throw new Error(`non-CapParseError for ${JSON.stringify(text)}`, { cause: e });
    const key = /^URI:CHK:([^:]{20,})/.exec(text)?.[1];
    if (key !== undefined && (e.message.includes(key.slice(0, 12)) || e.message.includes(key.slice(-12)))) {
      throw new Error(`message echoes key material: ${e.message}`, { cause: e });
    }
    return false;
  }
  expect(formatCap(cap)).toBe(text);
  return true;
}

/** Characters that appear in caps, plus the ones most likely to confuse a parser. */
const capChar = fc.constantFrom(
  ...'abcdefghijklmnopqrstuvwxyz234567ABCDEFGHIJKLMNOPQRSTUVWXYZ0189:-= \t\n\u00e9\u0661'.split(''),
);

type Mutation =
  | { op: 'replace'; at: number; c: string }
  | { op: 'insert'; at: number; c: string }
  | { op: 'delete'; at: number }
  | { op: 'case'; at: number }
  | { op: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), c: capChar }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), c: capChar }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('case' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  const at = m.at % (text.length + 1);
  switch (m.op) {
    case 'replace':
      return text.slice(0, at) + m.c + text.slice(at + 1);
    case 'insert':
      return text.slice(0, at) + m.c + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + 1);
    case 'case': {
      const ch = text.charAt(at);
      const flipped = ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase();
      return text.slice(0, at) + flipped + text.slice(at + 1);
    }
    case 'truncate':
      return text.slice(0, at);
  }
}

describe('parseCap fuzz', () => {
  it('throws only CapParseError on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => void checkParse(s)), { numRuns: 2000 });
  });

  it('throws only CapParseError on strings with a cap prefix and cap-like characters', () => {
    const body = fc.array(capChar, { maxLength: 160 }).map((cs) => cs.join(''));
    const text = fc.tuple(fc.constantFrom('URI:CHK:', 'URI:CHK-Verifier:', 'URI:', ''), body).map(([p, b]) => p + b);
    fc.assert(fc.property(text, (s) => void checkParse(s)), { numRuns: 2000 });
  });

  it('a mutated valid cap either is rejected with CapParseError or is exactly its own canonical text', () => {
    fc.assert(
      fc.property(capArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (cap, ms) => {
        const text = ms.reduce(mutate, formatCap(cap));
        checkParse(text);
      }),
      { numRuns: 3000 },
    );
  });

  it('redactCap never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(typeof redactCap(s)).toBe('string');
      }),
      { numRuns: 1000 },
    );
  });
});
