/**
 * Finding nats-server (Debian package nats-server, installed in /usr/sbin)
 * for `intergrid up`, `intergrid demo` and the tests: one place that says
 * how to get it (DESIGN.md "Events inside a grid").
 */
import { PreconditionError } from '../../../libs/errors/index.js';
import { aptInstall, findBinary } from './debian-binary.js';

/** The one line printed when nats-server is missing and cannot be installed here. */
export const NATS_SERVER_MISSING = "nats-server not found: install it with 'sudo apt-get install nats-server' (Debian/Ubuntu)";

/** The path of nats-server on PATH (or in an sbin directory), or undefined. */
export function findNatsServer(pathEnv: string | undefined = process.env.PATH): string | undefined {
  return findBinary('nats-server', pathEnv);
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
  if ((opts.install ?? true) && aptInstall(['nats-server'])) {
    const after = find();
    if (after) return after;
  }
  throw new PreconditionError(NATS_SERVER_MISSING);
}
