/**
 * `intergrid grid init --dir DIR --area-code C --listen HOST:PORT [--nats URL]... [--nats-credentials FILE]`:
 * lays out a grid manager directory for an operator, as `clearinghouse init`
 * does for a clearinghouse (initGridManager: grid key, first admin key and
 * identity, config.json; existing keys are kept, so it can run again).
 * `--nats` writes the grid's NATS servers into the config, `--nats-credentials`
 * the user and password from FILE (docs/events.md "Credentials").
 * Prints the config path, then the admin identity path.
 */
import { natsConfigSchema, readNatsCredentialsFile } from '../../../libs/events/index.js';
import { readJsonObjectIfPresent, writeJsonAtomic, listenAddress } from '../../../libs/config/index.js';
import { isAreaCode } from '../../../libs/caps/index.js';
import { ConfigError, InvalidArgumentError } from '../../../libs/errors/index.js';
import { gridManagerConfigSchema, initGridManager } from '../../grid-manager/index.js';

export interface GridInitOptions {
  dir: string;
  areaCode: string;
  listen: string;
  nats?: string[];
  natsCredentials?: string;
}

export function gridInitCommand(opts: GridInitOptions): Promise<void> {
  if (!isAreaCode(opts.areaCode)) throw new InvalidArgumentError(`--area-code '${opts.areaCode}' is not 3–8 decimal digits`);
  if (!listenAddress.safeParse(opts.listen).success) throw new InvalidArgumentError(`--listen '${opts.listen}' is not host:port`);
  if (opts.natsCredentials !== undefined && !(opts.nats && opts.nats.length > 0)) throw new InvalidArgumentError('--nats-credentials needs --nats (the server they are for)');
  const credentials = opts.natsCredentials !== undefined ? readNatsCredentialsFile(opts.natsCredentials) : undefined;
  const nats = opts.nats && opts.nats.length > 0 ? natsConfigSchema.safeParse({ servers: opts.nats, ...(credentials ? { credentials } : {}) }) : undefined;
  if (nats && !nats.success) throw new InvalidArgumentError(`--nats: ${nats.error.issues.map((i) => i.message).join('; ')}`);
  const init = initGridManager(opts.dir, { areaCode: opts.areaCode, listen: opts.listen });
  if (nats?.success) {
    const updated = { ...readJsonObjectIfPresent(init.configPath), nats: { servers: nats.data.servers, ...(nats.data.credentials ? { credentials: nats.data.credentials } : {}) } };
    const check = gridManagerConfigSchema.safeParse(updated);
    if (!check.success) throw new ConfigError(`${init.configPath}: ${check.error.issues[0]?.message ?? 'invalid'}`);
    writeJsonAtomic(init.configPath, updated);
  }
  process.stdout.write(`${init.configPath}\n${init.adminIdentityPath}\n`);
  return Promise.resolve();
}
