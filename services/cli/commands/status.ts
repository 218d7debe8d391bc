/**
 * `intergrid status --config FILE [--json]` or `intergrid status --admin
 * ADMIN.json [--json]`: one screen for the admin of the grid manager or
 * clearinghouse whose config FILE is, or which the operator identity file
 * ADMIN.json administers (docs/operations.md "Status"). Exit 0 = no problem, 1 = the service does not answer (one
 * stderr line), 2 = bad usage or config, 4 = the report lists a problem
 * (a storage server down, an account near its quota, a certificate about to
 * expire, an open dispute…), so cron and monitoring can act on it.
 */
import { InvalidArgumentError, UnavailableError } from '../../../libs/errors/index.js';
import { parseDuration } from './grid.js';
import { loadAdminTarget, loadServiceTarget, SERVICE_TIMEOUT_MS, type AdminTarget } from '../status/service-config.js';
import { gridReport } from '../status/grid-report.js';
import { clearinghouseReport } from '../status/clearinghouse-report.js';
import { renderClearinghouse, renderGrid } from '../status/render.js';

/** Exit code when the report lists at least one problem. */
export const STATUS_PROBLEMS_EXIT = 4;

export interface StatusOptions {
  config?: string;
  admin?: string;
  address?: string;
  json?: boolean;
  expiringWithin?: string;
}

export async function statusCommand(opts: StatusOptions): Promise<void> {
  const expiringWithinMs = parseDuration(opts.expiringWithin ?? '7d', '--expiring-within');
  const address = opts.address ? { address: opts.address } : {};
  let target: AdminTarget;
  let what: string;
  let file: string;
  if (opts.config) {
    const t = loadServiceTarget(opts.config, { ...(opts.admin ? { admin: opts.admin } : {}), ...address, now: Date.now() });
    target = t;
    what = t.kind === 'grid-manager' ? `grid manager ${t.config.areaCode}` : 'clearinghouse';
    file = opts.config;
  } else if (opts.admin) {
    // The identity file names the authority; a grid admin's certificate names the grid.
    target = loadAdminTarget(opts.admin, address);
    what = target.kind === 'grid-manager' ? `grid manager ${target.identity.certificates[0]!.grid}` : 'clearinghouse';
    file = opts.admin;
  } else {
    throw new InvalidArgumentError('status needs --config FILE (a grid manager or clearinghouse config) or --admin ADMIN.json (an operator identity file)');
  }
  const unreachable = (err: unknown): never => {
    if (err instanceof UnavailableError) throw new UnavailableError(`${what} (${file}) is unreachable: ${err.message}`, { cause: err });
    throw err;
  };
  if (target.kind === 'grid-manager') {
    const r = await gridReport(target.address, target.identity, target.serviceKey, expiringWithinMs, SERVICE_TIMEOUT_MS).catch(unreachable);
    process.stdout.write(opts.json ? JSON.stringify({ ok: r.problems.length === 0, ...r }, null, 2) + '\n' : renderGrid(r));
    if (r.problems.length > 0) process.exitCode = STATUS_PROBLEMS_EXIT;
  } else {
    const r = await clearinghouseReport(target.address, target.identity, target.serviceKey, SERVICE_TIMEOUT_MS, Date.now).catch(unreachable);
    process.stdout.write(opts.json ? JSON.stringify({ ok: r.problems.length === 0, ...r }, null, 2) + '\n' : renderClearinghouse(r));
    if (r.problems.length > 0) process.exitCode = STATUS_PROBLEMS_EXIT;
  }
}
