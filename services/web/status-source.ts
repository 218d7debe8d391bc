/**
 * The reports behind the dashboard's status part: for each --admin identity,
 * the same gridReport / clearinghouseReport `intergrid status` prints, asked
 * afresh on every page load, all at once. A service that does not answer (or
 * refuses the identity) becomes an error section with one line, not a failed
 * page.
 */
import { UnavailableError } from '../../libs/errors/index.js';
import { clearinghouseReport } from '../cli/status/clearinghouse-report.js';
import { gridReport } from '../cli/status/grid-report.js';
import { SERVICE_TIMEOUT_MS, type AdminTarget } from '../cli/status/service-config.js';
import type { StatusSection } from './status-page.js';

/** Deadline of each call to a grid manager or clearinghouse: `intergrid status`'s. */
export const STATUS_TIMEOUT_MS = SERVICE_TIMEOUT_MS;
/** Certificates expiring within this are listed (`intergrid status`'s default --expiring-within). */
export const EXPIRING_WITHIN_MS = 7 * 86_400_000;
/** An error line longer than this is cut. */
const MESSAGE_MAX = 300;

export interface ReportFunctions {
  grid: typeof gridReport;
  clearinghouse: typeof clearinghouseReport;
}

/** What a section is called before its service answered: the grid's area code comes from the admin's certificate. */
export function targetTitle(t: AdminTarget): string {
  if (t.kind === 'clearinghouse') return 'Clearinghouse';
  const grid = t.identity.certificates[0]?.grid;
  return grid ? `Grid ${grid}` : 'Grid';
}

/** An error as one line of at most MESSAGE_MAX characters. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MESSAGE_MAX ? `${line.slice(0, MESSAGE_MAX - 1)}…` : line;
}

function failure(t: AdminTarget, err: unknown): StatusSection {
  const what = `${t.kind === 'grid-manager' ? 'grid manager' : 'clearinghouse'} at ${t.address}`;
  const why = err instanceof Error ? err.message : String(err);
  const message = err instanceof UnavailableError ? `${what} is unreachable: ${why}` : `${what}: ${why}`;
  return { kind: 'error', title: targetTitle(t), message: oneLine(message) };
}

/** One section per target, in the targets' order; never rejects. */
export async function collectStatus(targets: readonly AdminTarget[], fns: ReportFunctions = { grid: gridReport, clearinghouse: clearinghouseReport }): Promise<StatusSection[]> {
  return Promise.all(
    targets.map(async (t): Promise<StatusSection> => {
      try {
        if (t.kind === 'grid-manager') return { kind: 'grid-manager', report: await fns.grid(t.address, t.identity, t.serviceKey, EXPIRING_WITHIN_MS, STATUS_TIMEOUT_MS) };
        return { kind: 'clearinghouse', report: await fns.clearinghouse(t.address, t.identity, t.serviceKey, STATUS_TIMEOUT_MS, Date.now) };
      } catch (err) {
        return failure(t, err);
      }
    }),
  );
}
