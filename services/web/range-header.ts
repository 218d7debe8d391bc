/**
 * The HTTP `Range` header of a GET (RFC 9110 §14): one `bytes=` range,
 * `a-b`, `a-` or the suffix `-n`, against a file of `size` bytes. Only a
 * single range is served; several, a malformed header, another unit or a
 * range that starts past the end are all "unsatisfiable" (416), so a caller
 * never gets a whole file it did not ask for as if it were its range.
 */
import type { ByteRange } from '../../libs/format/index.js';

export type RangeRequest =
  | { kind: 'whole' }
  | { kind: 'range'; range: ByteRange }
  | { kind: 'unsatisfiable'; reason: string };

const RANGE = /^bytes=(?:(\d{1,16})-(\d{0,16})|-(\d{1,16}))$/;

export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const text = header.trim();
  if (text.includes(',')) return { kind: 'unsatisfiable', reason: 'only a single byte range is served' };
  const m = RANGE.exec(text);
  if (!m) return { kind: 'unsatisfiable', reason: `bad Range '${text.slice(0, 80)}': expected bytes=START-END, bytes=START- or bytes=-SUFFIX` };
  if (m[3] !== undefined) {
    const suffix = Number(m[3]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable', reason: `range ${text} selects no byte of the ${size}-byte file` };
    const length = Math.min(suffix, size);
    return { kind: 'range', range: { offset: size - length, length } };
  }
  const start = Number(m[1]);
  if (start >= size) return { kind: 'unsatisfiable', reason: `range ${text} starts at or past the end of the ${size}-byte file` };
  if (m[2] === '') return { kind: 'range', range: { offset: start, length: size - start } };
  const end = Number(m[2]);
  if (end < start) return { kind: 'unsatisfiable', reason: `range ${text} ends before it starts` };
  return { kind: 'range', range: { offset: start, length: Math.min(end, size - 1) - start + 1 } };
}
