/**
 * Whose status the dashboard shows: an operator identity file (admin.json) of
 * a grid admin (authority `gridManager`) or the clearinghouse operator
 * (authority `clearinghouse`), with the address of the service it
 * administers (`intergrid up` and `grid init` / `clearinghouse init` with a
 * fixed port record it there).
 *
 * Temporary: services/cli/status/service-config.ts gets a `loadAdminTarget`
 * of the same shape; then this file goes and the import changes.
 */
import { loadOperatorIdentity, type Identity } from '../../libs/auth/index.js';
import { ConfigError } from '../../libs/errors/index.js';

export interface AdminTarget {
  kind: 'grid-manager' | 'clearinghouse';
  /** host:port of the grid manager or clearinghouse. */
  address: string;
  /** The admin's / operator's own identity, which the service's status RPCs require. */
  identity: Identity;
  /** The service's public key (its TLS certificate is pinned to it). */
  serviceKey: Uint8Array;
}

/** 'config FILE: x: …' → 'x: …' (the caller names the file once). */
function reason(err: unknown, path: string): string {
  const message = (err as Error).message;
  return message.startsWith(`config ${path}: `) ? message.slice(`config ${path}: `.length) : message;
}

/**
 * Reads `path` as a grid admin's or the clearinghouse operator's identity file.
 * @throws ConfigError naming the file when it is neither (or unreadable), or records no address.
 */
export function loadAdminTarget(path: string): AdminTarget {
  let target: { kind: AdminTarget['kind']; identity: Identity; publicKey: Uint8Array; address?: string };
  try {
    const admin = loadOperatorIdentity(path, 'gridManager');
    target = { kind: 'grid-manager', identity: admin.identity, ...admin.gridManager };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    try {
      const op = loadOperatorIdentity(path, 'clearinghouse');
      target = { kind: 'clearinghouse', identity: op.identity, ...op.clearinghouse };
    } catch (e2) {
      if (!(e2 instanceof ConfigError)) throw e2;
      const a = reason(e, path);
      const b = reason(e2, path);
      // Unreadable, not JSON, or a bad key file: the same message from both.
      if (a === b) throw e;
      throw new ConfigError(`${path} is neither a grid admin identity (${a}) nor a clearinghouse operator identity (${b})`, { cause: e2 });
    }
  }
  if (!target.address) {
    const field = target.kind === 'grid-manager' ? 'gridManager.address' : 'clearinghouse.address';
    throw new ConfigError(`${path} records no address of its ${target.kind === 'grid-manager' ? 'grid manager' : 'clearinghouse'} (${field})`);
  }
  return { kind: target.kind, address: target.address, identity: target.identity, serviceKey: target.publicKey };
}
