/** libs/net: loopback port helpers. */
export { freePort, portAccepts, portFree } from './ports.js';
