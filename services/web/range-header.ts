/**
 * The HTTP `Range` header of a GET (RFC 9110 §14): one `bytes=` range,
 * `a-b`, `a-` or the suffix `-n`, against a file of `size` bytes. Only a
 * single range is served; several, a malformed header, another unit or a
 * range that starts past the end are all "unsatisfiable" (416), so a caller
 * never gets a whole file it did not ask for as if it were its range.
 *
 * As RFC 9110 §14.1 reads: the unit is case-insensitive, empty list elements
 * (`bytes=0-9,`) are ignored, positions may have any number of digits (an
 * end past the file, however large, is clamped to its last byte), and a
 * suffix longer than the file selects all of it. A 0-byte file has no byte
 * to select: a suffix range (the only satisfiable form there) is answered as
 * the whole, empty file; every other range is unsatisfiable.
 */
import type { ByteRange } from '../../libs/format/index.js';

export type RangeRequest =
  | { kind: 'whole' }
  | { kind: 'range'; range: ByteRange }
  | { kind: 'unsatisfiable'; reason: string };

/** A header longer than this is not a single range anyone meant. */
const MAX_HEADER = 1000;
const SPEC = /^(?:(\d+)-(\d*)|-(\d+))$/;

export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const text = header.trim();
  const shown = text.slice(0, 80);
  const bad = (): RangeRequest => ({ kind: 'unsatisfiable', reason: `bad Range '${shown}': expected bytes=START-END, bytes=START- or bytes=-SUFFIX` });
  if (text.length > MAX_HEADER) return bad();
  const eq = text.indexOf('=');
  if (eq < 0 || text.slice(0, eq).toLowerCase() !== 'bytes') return bad();
  // range-set = 1#range-spec: elements split by commas with optional whitespace; empty ones do not count.
  const specs = text
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length > 1) return { kind: 'unsatisfiable', reason: 'only a single byte range is served' };
  const m = specs.length === 1 ? SPEC.exec(specs[0]!) : null;
  if (!m) return bad();
  // Positions past 2^53 (or Infinity, for very long runs of digits) only need to compare as past any file's end.
  if (m[3] !== undefined) {
    const suffix = Number(m[3]);
    if (suffix === 0) return { kind: 'unsatisfiable', reason: `range ${shown} selects no byte` };
    if (size === 0) return { kind: 'whole' };
    const length = Math.min(suffix, size);
    return { kind: 'range', range: { offset: size - length, length } };
  }
  const start = Number(m[1]!);
  if (start >= size) return { kind: 'unsatisfiable', reason: `range ${shown} starts at or past the end of the ${size}-byte file` };
  if (m[2] === '') return { kind: 'range', range: { offset: start, length: size - start } };
  const end = Number(m[2]!);
  if (end < start) return { kind: 'unsatisfiable', reason: `range ${shown} ends before it starts` };
  return { kind: 'range', range: { offset: start, length: Math.min(end, size - 1) - start + 1 } };
}
