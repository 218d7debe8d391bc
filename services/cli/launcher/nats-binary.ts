/**
 * Finding nats-server (Debian package nats-server, installed in /usr/sbin)
 * for `intergrid up`, `intergrid demo` and the tests: one place that says
 * how to get it (DESIGN.md "Events inside a grid").
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PreconditionError } from '../../../libs/errors/index.js';

/** The one line printed when nats-server is missing and cannot be installed here. */
export const NATS_SERVER_MISSING = "nats-server not found: install it with 'sudo apt-get install nats-server' (Debian/Ubuntu)";

/** sbin directories are searched too: Debian installs nats-server in /usr/sbin, often not on a user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of nats-server on PATH (or in an sbin directory), or undefined. */
export function findNatsServer(pathEnv: string | undefined = process.env.PATH): string | undefined {
  const dirs = [...(pathEnv ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const d of dirs) {
    const p = join(d, 'nats-server');
    if (executable(p)) return p;
  }
  return undefined;
}

/**
 * Returns the nats-server path; when missing and running as root with
 * apt-get available, installs the Debian package quietly first
 * (`install: false` never installs; `find` replaces the lookup, for tests).
 * @throws PreconditionError with NATS_SERVER_MISSING otherwise (or when the install failed).
 */
export function requireNatsServer(opts: { install?: boolean; find?: () => string | undefined } = {}): string {
  const find = opts.find ?? (() => findNatsServer());
  const found = find();
  if (found) return found;
  const asRoot = process.getuid?.() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if ((opts.install ?? true) && asRoot && apt) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'ignore', env }).status === 0;
    // A fresh container has no package lists yet: update once and retry.
    if (!install()) {
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
      install();
    }
    const after = find();
    if (after) return after;
  }
  throw new PreconditionError(NATS_SERVER_MISSING);
}
