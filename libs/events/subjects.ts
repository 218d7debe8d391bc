/**
 * Stream and subject names of the usage events inside one grid
 * (docs/events.md "Stream and subjects").
 */

/** The JetStream stream (file storage) holding every usage event of a grid. */
export const USAGE_STREAM = 'INTERGRID_USAGE';

/** The subjects the usage stream captures. */
export const USAGE_SUBJECTS = 'intergrid.usage.>';

/** Per-client usage events published by the gateway and consumed by the grid manager. */
export const CLIENT_USAGE_SUBJECT = 'intergrid.usage.client';

/** The grid manager's durable consumer on CLIENT_USAGE_SUBJECT. */
export const GRID_MANAGER_CONSUMER = 'grid-manager';
