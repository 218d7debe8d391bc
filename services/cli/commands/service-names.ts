/**
 * The services `intergrid serve` runs, in a module of their own so the CLI's
 * help can name them without loading any service (serve.ts maps each to its
 * start function; its type makes the two lists agree).
 */
export const SERVICE_NAMES = ['storage', 'grid-manager', 'clearinghouse', 'contact-point', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
