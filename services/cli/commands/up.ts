/**
 * `intergrid up --dir DIR [--servers N]`: a whole grid on loopback, each
 * service its own process started exactly as an operator would
 * (`intergrid serve …`). Keys and data under DIR are reused on the next run;
 * addresses (port 0) are fresh each run, so configs are rewritten.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateKeyPair, toHex, type KeyPair } from '../../../libs/crypto/index.js';
import { readKeyFile, writeKeyFile, writeCertificateFile, encodeCertificateBase64 } from '../../../libs/auth/index.js';
import { writeJsonAtomic } from '../../../libs/config/index.js';
import { writeClientConfig, type ClientConfig } from '../../../libs/client/index.js';
import { DEFAULT_K, DEFAULT_N, DEFAULT_HAPPY, DEFAULT_SEGMENT_SIZE } from '../../../libs/format/index.js';
import { connectGridManager } from '../../../libs/grid/index.js';
import { initGridManager, loadAdminIdentity } from '../../grid-manager/index.js';
import { startServiceChild, stopChildren, type ServiceChild } from '../child-process.js';

export interface UpOptions {
  dir: string;
  servers: number;
  /** Called once everything answers, with the path of federation.json. */
  onReady?(federationPath: string): void;
}

export interface FederationFile {
  version: 1;
  startedAtMs: number;
  grids: { name: string; areaCode: string; gridManagerPublicKey: string; clientConfig: string }[];
  services: { role: string; name: string; grid: string; areaCode: string; address: string; pid: number; dataDir: string; config: string; log: string }[];
}

const GRID_NAME = 'a';
const AREA_CODE = '101';

function loadOrCreateKey(path: string): KeyPair {
  if (existsSync(path)) return readKeyFile(path);
  const kp = generateKeyPair();
  writeKeyFile(path, kp);
  return kp;
}

/** Starts the grid; resolves with the running children (call stopChildren to stop). */
export async function startGrid(opts: UpOptions): Promise<{ children: ServiceChild[]; federationPath: string }> {
  const dir = resolve(opts.dir);
  const gridDir = join(dir, GRID_NAME);
  const logDir = join(dir, 'logs');
  mkdirSync(gridDir, { recursive: true });
  const children: ServiceChild[] = [];
  const services: FederationFile['services'] = [];
  try {
    // 1. Grid manager.
    const gmDir = join(gridDir, 'grid-manager');
    const { configPath: gmConfig, adminIdentityPath } = initGridManager(gmDir, { areaCode: AREA_CODE, listen: '127.0.0.1:0' });
    const gm = await startServiceChild({
      role: 'grid-manager', name: `${GRID_NAME}/grid-manager`, service: 'grid-manager',
      configPath: gmConfig, logFile: join(logDir, `${GRID_NAME}-grid-manager.log`),
    });
    children.push(gm);
    services.push({ role: 'grid-manager', name: gm.name, grid: GRID_NAME, areaCode: AREA_CODE, address: gm.address, pid: gm.pid, dataDir: gmDir, config: gmConfig, log: gm.logFile });
    const admin = loadAdminIdentity(adminIdentityPath);
    const gmPublicKey = toHex(admin.gridManager.publicKey);
    const manager = connectGridManager(gm.address, admin.identity);
    try {
      // 2. Storage servers: key, approval (fresh certificate), config; then all processes start at once.
      const planned: { name: string; sDir: string; configPath: string }[] = [];
      for (let i = 1; i <= opts.servers; i++) {
        const name = `storage-${String(i).padStart(2, '0')}`;
        const sDir = join(gridDir, name);
        mkdirSync(sDir, { recursive: true });
        const key = loadOrCreateKey(join(sDir, 'key.json'));
        const cert = await manager.approve({ role: 'storage-server', subject: key.publicKey, name });
        writeCertificateFile(join(sDir, 'certificate.b64'), cert);
        const configPath = join(sDir, 'config.json');
        writeJsonAtomic(configPath, {
          name,
          listen: '127.0.0.1:0',
          dataDir: './data',
          keyFile: './key.json',
          certificateFile: './certificate.b64',
          gridManager: { address: gm.address, publicKey: gmPublicKey },
        });
        planned.push({ name, sDir, configPath });
      }
      const started = await Promise.allSettled(
        planned.map((p) =>
          startServiceChild({
            role: 'storage-server', name: `${GRID_NAME}/${p.name}`, service: 'storage',
            configPath: p.configPath, logFile: join(logDir, `${GRID_NAME}-${p.name}.log`),
          }),
        ),
      );
      // Keep every child that did start, so a failure below still stops them all.
      for (const [i, r] of started.entries()) {
        if (r.status !== 'fulfilled') continue;
        const child = r.value;
        const p = planned[i]!;
        children.push(child);
        services.push({ role: 'storage-server', name: child.name, grid: GRID_NAME, areaCode: AREA_CODE, address: child.address, pid: child.pid, dataDir: join(p.sDir, 'data'), config: p.configPath, log: child.logFile });
      }
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;

      // 3. The grid's first client account.
      const clientKeyPath = join(gridDir, 'client-key.json');
      const clientKey = loadOrCreateKey(clientKeyPath);
      const clientCert = await manager.approve({ role: 'client', subject: clientKey.publicKey, name: 'client' });
      const clientConfigPath = join(gridDir, 'client.json');
      const clientConfig: ClientConfig = {
        areaCode: AREA_CODE,
        gridManager: { address: gm.address, publicKey: gmPublicKey },
        publicKey: toHex(clientKey.publicKey),
        secretKey: toHex(clientKey.secretKey),
        certificate: encodeCertificateBase64(clientCert),
        encoding: { k: DEFAULT_K, n: DEFAULT_N, happy: Math.min(DEFAULT_HAPPY, opts.servers), segmentSize: DEFAULT_SEGMENT_SIZE },
      };
      writeClientConfig(clientConfigPath, clientConfig);

      // 4. Ready when every storage server has announced this run's address in the signed directory.
      const addresses = services.filter((s) => s.role === 'storage-server').map((s) => s.address);
      await waitFor(
        async () => {
          const listed = new Set((await manager.getDirectory()).servers.map((s) => s.address));
          return addresses.every((a) => listed.has(a));
        },
        30_000,
        'storage servers to announce',
      );

      const federation: FederationFile = {
        version: 1,
        startedAtMs: Date.now(),
        grids: [{ name: GRID_NAME, areaCode: AREA_CODE, gridManagerPublicKey: gmPublicKey, clientConfig: clientConfigPath }],
        services,
      };
      const federationPath = join(dir, 'federation.json');
      writeJsonAtomic(federationPath, federation, 0o644);
      return { children, federationPath };
    } finally {
      manager.close();
    }
  } catch (err) {
    await stopChildren(children);
    throw err;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < until) {
    try {
      if (await check()) return;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${lastErr instanceof Error ? `: ${lastErr.message}` : ''}`);
}

/** The foreground command: start, print `ready <path>`, stop every child on SIGINT/SIGTERM. */
export async function upCommand(opts: UpOptions): Promise<void> {
  const { children, federationPath } = await startGrid(opts);
  process.stdout.write(`ready ${federationPath}\n`);
  opts.onReady?.(federationPath);
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await stopChildren(children);
}
