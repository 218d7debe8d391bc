/**
 * An operator's identity file (admin.json): the operator's key file, its
 * certificate, and the authority it administers — a grid manager or the
 * clearinghouse:
 *
 *   { "<authority>": { "address"?: "host:port", "publicKey": "<hex>" },
 *     "keyFile": "./admin-key.json",          // relative to admin.json
 *     "certificate": "<base64 certificate>" }
 *
 * Mode 0600: it points at a secret key. The one implementation for both
 * kinds: the grid admin's (initGridManager, authority `gridManager`) and the
 * clearinghouse operator's (initClearinghouse, authority `clearinghouse`).
 */
import { z } from 'zod';
import { loadJsonConfig, resolveFrom, hexKey, listenAddress, writeJsonAtomic, readJsonObjectIfPresent } from '../config/index.js';
import { fromHex, toHex, type KeyPair } from '../crypto/index.js';
import { ConfigError } from '../errors/index.js';
import { decodeCertificateBase64, verifyCertificate } from './certificate.js';
import { readKeyFile } from './identity-file.js';
import type { Certificate, Identity, Role } from './types.js';

export type Authority = 'gridManager' | 'clearinghouse';

const authoritySchema = z.object({ address: listenAddress.optional(), publicKey: hexKey }).strict();

/** The zod schema of an identity file administering `authority`. */
export function operatorIdentitySchema<A extends Authority>(authority: A) {
  return z
    .object({ [authority]: authoritySchema, keyFile: z.string().min(1), certificate: z.string().min(1) } as {
      [K in A]: typeof authoritySchema;
    } & { keyFile: z.ZodString; certificate: z.ZodString })
    .strict();
}

export type OperatorIdentityFile<A extends Authority> = { [K in A]: z.infer<typeof authoritySchema> } & { keyFile: string; certificate: string };

/** The authority an operator administers: its key and, when recorded, its address. */
export interface AuthorityRef {
  publicKey: Uint8Array;
  address?: string;
}

/** A loaded identity file: the operator's identity, and the authority under its own name (`gridManager` or `clearinghouse`). */
export type OperatorIdentity<A extends Authority> = { identity: Identity } & { [K in A]: AuthorityRef };

/**
 * Reads an identity file, its key file and its certificate.
 * @example loadOperatorIdentity('grid/admin.json', 'gridManager').gridManager.publicKey
 * @throws ConfigError naming the file and field when any part is missing or malformed.
 */
export function loadOperatorIdentity<A extends Authority>(path: string, authority: A): OperatorIdentity<A> {
  const file = loadJsonConfig(path, operatorIdentitySchema(authority)) as unknown as OperatorIdentityFile<Authority>;
  const keyPair = readKeyFile(resolveFrom(path, file.keyFile));
  let certificate;
  try {
    certificate = decodeCertificateBase64(file.certificate);
  } catch (e) {
    throw new ConfigError(`config ${path}: certificate: ${(e as Error).message}`, { cause: e });
  }
  const entry = file[authority];
  const ref: AuthorityRef = { publicKey: fromHex(entry.publicKey, `${authority}.publicKey`, 32) };
  if (entry.address !== undefined) ref.address = entry.address;
  return { identity: { keyPair, certificates: [certificate] }, [authority]: ref } as OperatorIdentity<A>;
}

/**
 * Records where the authority of an identity file listens (`intergrid up`
 * binds ephemeral ports, so it rewrites this at every start): the operator's
 * commands then need no `--clearinghouse` / `--grid-manager` flag.
 * @throws ConfigError when the file is not a valid identity file for `authority`.
 */
export function setOperatorAddress(path: string, authority: Authority, address: string): void {
  const file = loadJsonConfig(path, operatorIdentitySchema(authority)) as unknown as OperatorIdentityFile<Authority>;
  writeOperatorIdentity(path, authority, { ...file, [authority]: { ...file[authority], address } } as OperatorIdentityFile<Authority>);
}

/** Writes an identity file (validated, atomically, mode 0600). */
export function writeOperatorIdentity<A extends Authority>(path: string, authority: A, file: OperatorIdentityFile<A>): void {
  writeJsonAtomic(path, operatorIdentitySchema(authority).parse(file), 0o600);
}

/**
 * The certificate in an existing identity file when it is still good for a
 * while (more than a quarter of its lifetime left), issued by `issuer` to
 * `admin` with `role` (and for `grid`, when given); else undefined, and init
 * issues a new one.
 */
export function reusableOperatorCertificate(
  path: string,
  authority: Authority,
  want: { issuer: KeyPair; admin: KeyPair; role: Role; grid?: string; now: number },
): Certificate | undefined {
  const parsed = operatorIdentitySchema(authority).safeParse(readJsonObjectIfPresent(path));
  if (!parsed.success) return undefined;
  try {
    const cert = verifyCertificate(decodeCertificateBase64(parsed.data.certificate), {
      trustedIssuers: [want.issuer.publicKey],
      now: want.now,
      expectedRole: want.role,
      expectedSubject: want.admin.publicKey,
    });
    if (want.grid !== undefined && cert.grid !== want.grid) return undefined;
    const quarter = (cert.notAfter - cert.notBefore) / 4;
    return cert.notAfter - want.now > quarter ? cert : undefined;
  } catch {
    return undefined;
  }
}

/** An existing config's `adminKeys` (strings only) with `admin` added when missing. */
export function adminKeysWith(existing: Record<string, unknown>, admin: KeyPair): string[] {
  const hex = toHex(admin.publicKey);
  const keys = Array.isArray(existing.adminKeys) ? (existing.adminKeys as unknown[]).filter((k): k is string => typeof k === 'string') : [];
  return keys.includes(hex) ? keys : [...keys, hex];
}

/** The listen address worth recording in admin.json for the operator's tools: a fixed port; port 0 is not an address. */
export function recordedAddress(listen: string): { address?: string } {
  return /:0$/.test(listen) ? {} : { address: listen };
}
