/**
 * What `intergrid status` flags, and the small formatting both reports share.
 * A problem is something an admin should act on; any problem makes the
 * command exit 4 (docs/operations.md "Status").
 */

export interface Problem {
  /**
   * Stable: service-not-serving, server-down, server-draining,
   * server-not-listed, near-quota, certificate-expiring, certificate-expired,
   * disputes-open, no-contact-point.
   */
  kind: string;
  /** The server, account, principal or area code concerned. */
  subject: string;
  message: string;
}

/** A duration as '45s ago', '12m ago', '5h ago', '3d ago' (rounded down; negative → '0s ago'). */
export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.floor(s / 60)}m ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** Bytes with a binary unit: '512 B', '1.5 KiB', '20.0 GiB'. */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
