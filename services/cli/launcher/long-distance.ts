/**
 * The long-distance services of one grid of a local federation: two contact
 * points (certified by the grid manager, registered at the clearinghouse) and
 * one gateway (certified by the grid manager and approved by the
 * clearinghouse). The grid's client.json learns the gateway's address.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeCertificateFile, loadOrCreateKeyFile } from '../../../libs/auth/index.js';
import { writeJsonAtomic } from '../../../libs/config/index.js';
import { toHex } from '../../../libs/crypto/index.js';
import { loadClientConfig, writeClientConfig } from '../../../libs/client/index.js';
import { writeContactPointConfig } from '../../contact-point/index.js';
import type { LaunchedClearinghouse } from './clearinghouse.js';
import { LOCAL_PRICE_UNITS_PER_GIB } from './clearinghouse.js';
import type { LaunchedGrid } from './grid.js';
import type { PlannedService, Supervisor, ServiceRecord } from './supervisor.js';

export const CONTACT_POINTS_PER_GRID = 2;
/** The local gateways pay up to ten times the local price. */
export const LOCAL_PRICE_CEILING = 10 * LOCAL_PRICE_UNITS_PER_GIB;

export async function launchLongDistance(sup: Supervisor, grid: LaunchedGrid, ch: LaunchedClearinghouse): Promise<{ gateway: ServiceRecord; contactPoints: ServiceRecord[] }> {
  const { name: gridName, areaCode } = grid.plan;
  const gridManager = { address: grid.gridManagerAddress, publicKey: grid.gridManagerPublicKey };
  const clearinghouse = { address: ch.address, publicKey: ch.publicKey };
  const planned: PlannedService[] = [];

  for (let j = 1; j <= CONTACT_POINTS_PER_GRID; j++) {
    const name = `contact-point-${j}`;
    const dir = join(grid.dir, name);
    mkdirSync(dir, { recursive: true });
    const key = loadOrCreateKeyFile(join(dir, 'key.json'));
    writeCertificateFile(join(dir, 'certificate.b64'), await grid.manager.approve({ role: 'contact-point', subject: key.publicKey, name }));
    const configPath = join(dir, 'config.json');
    writeContactPointConfig(configPath, { name, listen: '127.0.0.1:0', areaCode, dataDir: '.', keyFile: './key.json', certificateFile: './certificate.b64', gridManager, clearinghouse });
    planned.push({ role: 'contact-point', name: `${gridName}/${name}`, service: 'contact-point', grid: gridName, areaCode, configPath, dataDir: dir });
  }

  const gwDir = join(grid.dir, 'gateway');
  mkdirSync(gwDir, { recursive: true });
  const gwKey = loadOrCreateKeyFile(join(gwDir, 'key.json'));
  writeCertificateFile(join(gwDir, 'gateway.b64'), await grid.manager.approve({ role: 'gateway', subject: gwKey.publicKey, name: 'gateway' }));
  writeCertificateFile(join(gwDir, 'approval.b64'), await ch.admin.approveGateway({ areaCode, gatewayPublicKey: gwKey.publicKey }));
  const gwConfig = join(gwDir, 'config.json');
  writeJsonAtomic(gwConfig, {
    name: 'gateway',
    listen: '127.0.0.1:0',
    areaCode,
    dataDir: '.',
    keyFile: './key.json',
    certificateFiles: ['./gateway.b64', './approval.b64'],
    gridManager,
    clearinghouse,
    priceCeilingUnitsPerGib: LOCAL_PRICE_CEILING,
    // Per-client usage events to the grid's nats-server (docs/events.md).
    nats: { servers: [grid.natsUrl], credentials: grid.natsCredentials },
  });
  planned.push({ role: 'gateway', name: `${gridName}/gateway`, service: 'gateway', grid: gridName, areaCode, configPath: gwConfig, dataDir: gwDir });

  const started = await sup.start(planned);
  const gateway = started.find((s) => s.role === 'gateway')!;
  const client = loadClientConfig(grid.clientConfigPath);
  writeClientConfig(grid.clientConfigPath, { ...client, gateway: { address: gateway.address, publicKey: toHex(gwKey.publicKey) } });
  return { gateway, contactPoints: started.filter((s) => s.role === 'contact-point') };
}
