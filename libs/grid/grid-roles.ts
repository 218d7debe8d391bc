/** Roles a grid manager issues for its own grid (libs/auth Role, minus the clearinghouse's). */
export const GRID_ROLES = ['storage-server', 'client', 'gateway', 'contact-point', 'admin'] as const;
export type GridRole = (typeof GRID_ROLES)[number];

export function isGridRole(s: unknown): s is GridRole {
  return typeof s === 'string' && (GRID_ROLES as readonly string[]).includes(s);
}
