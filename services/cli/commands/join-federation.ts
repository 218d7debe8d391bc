/**
 * `intergrid grid join-federation CODE --config GRID_MANAGER_CONFIG`: a grid
 * joins a clearinghouse with a federation invite code from `intergrid
 * clearinghouse invite` (docs/clearinghouse.md "Invites"). Run by the grid
 * admin on the grid manager's machine: reads the grid manager config (its grid
 * key file and area code), redeems the code at the clearinghouse named in it
 * (signed by the grid key), then writes `clearinghouse: {address, publicKey}`
 * into the config (atomically, every other field kept) and prints what else
 * needs doing.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { readKeyFile } from '../../../libs/auth/index.js';
import { readJsonObjectIfPresent, writeJsonAtomic } from '../../../libs/config/index.js';
import { toHex } from '../../../libs/crypto/index.js';
import { ConfigError } from '../../../libs/errors/index.js';
import { decodeGridInvite, redeemGridInvite } from '../../../libs/federation/index.js';
import { gridManagerConfigSchema, loadGridManagerConfig } from '../../grid-manager/index.js';

export interface JoinFederationOptions {
  /** The grid manager's config file. */
  config: string;
}

export async function joinFederationCommand(code: string, opts: JoinFederationOptions): Promise<void> {
  const invite = decodeGridInvite(code);
  const configPath = resolve(opts.config);
  const config = loadGridManagerConfig(configPath);
  const gridKey = readKeyFile(config.keyFile);
  const clearinghouse = { address: invite.address, publicKey: toHex(invite.clearinghousePublicKey) };
  // Everything that could stop the config from being written is checked
  // before the one-time invite is spent.
  // The file as written (no defaults filled in, no environment overrides): only `clearinghouse` changes.
  const raw = readJsonObjectIfPresent(configPath) ?? {};
  const updated = { ...raw, clearinghouse };
  const check = gridManagerConfigSchema.safeParse(updated);
  if (!check.success) throw new ConfigError(`${configPath}: would not be a valid grid manager config with the invite's clearinghouse: ${check.error.issues[0]?.message ?? 'invalid'}`);
  try {
    accessSync(configPath, constants.W_OK);
  } catch (e) {
    throw new ConfigError(`${configPath} is not writable: run join-federation as the grid manager's owner`, { cause: e });
  }

  const grid = await redeemGridInvite(invite, gridKey, config.areaCode);

  const previous = raw.clearinghouse as { address?: unknown; publicKey?: unknown } | undefined;
  writeJsonAtomic(configPath, updated, statSync(configPath).mode & 0o777);
  loadGridManagerConfig(configPath);
  const lines = [
    `joined the federation: grid '${grid.name}' admitted as area code ${grid.areaCode} at clearinghouse ${invite.address} (price ${grid.priceUnitsPerGib} units/GiB)`,
    `wrote: ${configPath} (clearinghouse: address ${clearinghouse.address}, publicKey ${clearinghouse.publicKey})`,
  ];
  if (previous && (previous.address !== clearinghouse.address || previous.publicKey !== clearinghouse.publicKey)) {
    lines.push(`  (replaced the previous clearinghouse ${String(previous.address)})`);
  }
  lines.push(
    'next:',
    `  1. restart the grid manager (intergrid serve grid-manager --config ${configPath}): it then fetches this grid's settlement statements`,
    `  2. the gateway and contact point configs need "clearinghouse": ${JSON.stringify(clearinghouse)}`,
    `  3. the gateway needs an approval: the clearinghouse operator runs intergrid clearinghouse approve-gateway --area-code ${grid.areaCode} --key <gateway public key>`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}
