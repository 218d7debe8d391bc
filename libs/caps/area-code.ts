/**
 * Area codes name grids, like telephone area codes: 3–8 decimal digits,
 * compared as strings (so leading zeros are significant: '007' ≠ '7').
 * Assigned by the clearinghouse. This file is the one home of the grammar:
 * every config and document schema that holds an area code uses
 * `areaCodeSchema`, every argument check `assertAreaCode` / `isAreaCode`.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors/index.js';

/** The area-code grammar: 3 to 8 ASCII digits. */
export const AREA_CODE_PATTERN = /^[0-9]{3,8}$/;

/**
 * The zod field for an area code (configs, signed documents, events): a
 * string matching AREA_CODE_PATTERN, refused with "expected 3-8 decimal digits".
 */
export const areaCodeSchema = z.string().regex(AREA_CODE_PATTERN, 'expected 3-8 decimal digits');

/** True when `code` is a well-formed area code. */
export function isAreaCode(code: unknown): code is string {
  return typeof code === 'string' && AREA_CODE_PATTERN.test(code);
}

/**
 * Why `code` is not an area code, or undefined when it is one. Shared by the
 * cap parser (CapParseError) and argument checks (InvalidArgumentError).
 */
export function areaCodeProblem(code: string): string | undefined {
  if (code.length === 0) return 'is empty, expected 3–8 digits';
  const bad = /[^0-9]/.exec(code);
  if (bad) return `has non-digit ${JSON.stringify(bad[0])} at position ${bad.index}, expected 3–8 digits`;
  if (code.length < 3 || code.length > 8) return `has ${code.length} digits, expected 3–8`;
  return undefined;
}

/**
 * Asserts `code` is an area code.
 * @throws InvalidArgumentError naming `name` and the value.
 */
export function assertAreaCode(name: string, code: unknown): asserts code is string {
  if (typeof code !== 'string') throw new InvalidArgumentError(`${name} must be an area code string, got ${typeof code}`);
  const problem = areaCodeProblem(code);
  if (problem) throw new InvalidArgumentError(`${name} '${code.slice(0, 16)}' ${problem}`);
}
