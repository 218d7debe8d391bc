/**
 * `intergrid join CODE --dir DIR`: a new node joins a grid with an invite
 * code from `intergrid grid invite` (docs/grid-manager.md "Invites"). Creates
 * DIR/key.json (0600; an existing key is kept), redeems the code at the grid
 * manager named in it, writes DIR/certificate.b64 and the config for the role:
 * client.json for a client, config.json (data under DIR/data) for a storage
 * server. Gateways and contact points get key and certificate; their config
 * needs the clearinghouse and NATS settings of `intergrid serve`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodeCertificateBase64, loadOrCreateKeyFile, writeCertificateFile } from '../../../libs/auth/index.js';
import { writeJsonAtomic } from '../../../libs/config/index.js';
import { writeClientConfig } from '../../../libs/client/index.js';
import { toHex } from '../../../libs/crypto/index.js';
import { PreconditionError } from '../../../libs/errors/index.js';
import { DEFAULT_HAPPY, DEFAULT_K, DEFAULT_N, DEFAULT_SEGMENT_SIZE } from '../../../libs/format/index.js';
import { connectGridManager, decodeInvite, redeemInvite } from '../../../libs/grid/index.js';

export interface JoinOptions {
  dir: string;
  /** Storage servers: the address to listen on (default 0.0.0.0:7400). */
  listen?: string;
  /** Storage servers and clients: a name for the config. */
  name?: string;
}

export async function joinCommand(code: string, opts: JoinOptions): Promise<void> {
  const invite = decodeInvite(code);
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, invite.role === 'client' ? 'client.json' : 'config.json');
  if ((invite.role === 'client' || invite.role === 'storage-server') && existsSync(configPath)) {
    throw new PreconditionError(`${configPath} already exists: join into an empty directory`);
  }
  const keyPath = join(dir, 'key.json');
  const key = loadOrCreateKeyFile(keyPath);
  const cert = await redeemInvite(invite, key);
  const certPath = join(dir, 'certificate.b64');
  writeCertificateFile(certPath, cert);
  const gridManager = { address: invite.address, publicKey: toHex(invite.gridManagerKey) };
  const wrote = [`${keyPath} (your key, mode 0600)`, `${certPath} (${invite.role} certificate for grid ${invite.areaCode}, valid until ${new Date(cert.notAfter).toISOString()})`];
  if (invite.role === 'client') {
    // Like `intergrid up`: ask for no more distinct servers than the grid has now (at least k).
    const gm = connectGridManager(invite.address, { keyPair: key, certificates: [cert] }, { gridManagerPublicKey: invite.gridManagerKey });
    let servers: number;
    try {
      servers = (await gm.getDirectory()).servers.length;
    } finally {
      gm.close();
    }
    const happy = Math.min(DEFAULT_HAPPY, Math.max(DEFAULT_K, servers));
    writeClientConfig(configPath, {
      areaCode: invite.areaCode,
      gridManager,
      publicKey: toHex(key.publicKey),
      secretKey: toHex(key.secretKey),
      certificate: encodeCertificateBase64(cert),
      encoding: { k: DEFAULT_K, n: DEFAULT_N, happy, segmentSize: DEFAULT_SEGMENT_SIZE },
    });
    wrote.push(`${configPath} (client config, mode 0600, happy=${happy} for the ${servers} servers listed now: use with intergrid put/get --config)`);
  } else if (invite.role === 'storage-server') {
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeJsonAtomic(configPath, {
      name: opts.name ?? `storage-${toHex(key.publicKey).slice(0, 8)}`,
      listen: opts.listen ?? '0.0.0.0:7400',
      dataDir: './data',
      keyFile: './key.json',
      certificateFile: './certificate.b64',
      gridManager,
    });
    wrote.push(`${configPath} (storage server config, data in ${join(dir, 'data')}: run intergrid serve storage --config ${configPath})`);
  }
  process.stdout.write(`joined grid ${invite.areaCode} as ${invite.role} (key ${toHex(key.publicKey)})\nwrote:\n${wrote.map((w) => `  ${w}\n`).join('')}`);
  if (invite.role === 'gateway' || invite.role === 'contact-point') {
    process.stdout.write(`next: write the ${invite.role} config (keyFile ./key.json, certificateFile ./certificate.b64, gridManager ${gridManager.address}) as in docs/configuration.md\n`);
  }
}
