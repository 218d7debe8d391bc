/**
 * Finding a program the local federation runs from a Debian package
 * (nats-server, Ceph's daemons), and installing the package when this
 * process may (root, apt-get present): one place for that rule.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** sbin directories are searched too: Debian installs daemons in /usr/sbin, often not on a user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of `name` on PATH (or in an sbin directory), or undefined. */
export function findBinary(name: string, pathEnv: string | undefined = process.env.PATH): string | undefined {
  for (const d of [...(pathEnv ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS]) {
    const p = join(d, name);
    if (executable(p)) return p;
  }
  return undefined;
}

/**
 * Installs Debian `packages` quietly when running as root with apt-get
 * (a fresh container has no package lists yet: updates once and retries).
 * Returns whether apt-get reported success; never throws.
 */
export function aptInstall(packages: readonly string[]): boolean {
  const asRoot = process.getuid?.() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!asRoot || !apt) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'ignore', env }).status === 0;
  if (install()) return true;
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  return install();
}
