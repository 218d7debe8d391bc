/**
 * The clearinghouse of a local federation (DIR/clearinghouse/): started
 * first, then every grid is admitted under its area code (once: a rerun on
 * the same DIR finds them admitted already).
 */
import { join } from 'node:path';
import { toHex, fromHex } from '../../../libs/crypto/index.js';
import { setOperatorAddress } from '../../../libs/auth/index.js';
import { connectClearinghouse, type ClearinghouseConnection } from '../../../libs/federation/index.js';
import { initClearinghouse, loadClearinghouseAdmin } from '../../clearinghouse/index.js';
import type { Supervisor } from './supervisor.js';

export interface LaunchedClearinghouse {
  address: string;
  publicKey: string;
  /** Operator connection; closed by the caller. */
  admin: ClearinghouseConnection;
  adminIdentityPath: string;
}

/** Default price of the local federation's grids, in ledger units per GiB. */
export const LOCAL_PRICE_UNITS_PER_GIB = 1_000_000;

export async function launchClearinghouse(sup: Supervisor): Promise<LaunchedClearinghouse> {
  const dir = join(sup.dir, 'clearinghouse');
  const init = initClearinghouse(dir, { listen: '127.0.0.1:0' });
  const [ch] = await sup.start([
    { role: 'clearinghouse', name: 'clearinghouse', service: 'clearinghouse', grid: '-', areaCode: '-', configPath: init.configPath, dataDir: join(dir, 'data') },
  ]);
  setOperatorAddress(init.adminIdentityPath, 'clearinghouse', ch!.address);
  const operator = loadClearinghouseAdmin(init.adminIdentityPath);
  const admin = connectClearinghouse(ch!.address, operator.identity, { clearinghousePublicKey: operator.clearinghouse.publicKey });
  return { address: ch!.address, publicKey: toHex(operator.clearinghouse.publicKey), admin, adminIdentityPath: init.adminIdentityPath };
}

/** Admits a grid under `areaCode` unless it is admitted already (same grid manager key). */
export async function admitGrid(ch: LaunchedClearinghouse, grid: { name: string; areaCode: string; gridManagerPublicKey: string }): Promise<void> {
  const known = (await ch.admin.listGrids()).find((g) => g.areaCode === grid.areaCode);
  if (known) {
    if (toHex(known.gridManagerPublicKey) !== grid.gridManagerPublicKey) {
      throw new Error(`area code ${grid.areaCode} is admitted for another grid manager key in ${ch.adminIdentityPath}'s clearinghouse`);
    }
    return;
  }
  await ch.admin.admitGrid({
    gridManagerPublicKey: fromHex(grid.gridManagerPublicKey),
    name: grid.name,
    areaCode: grid.areaCode,
    priceUnitsPerGib: LOCAL_PRICE_UNITS_PER_GIB,
  });
}
