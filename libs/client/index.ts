/**
 * libs/client — the Intergrid client library: connect to the home grid,
 * upload (streaming, servers-of-happiness), download (verified, switching
 * servers on bad shares), check. The public names, by hand.
 */
export { clientConfigSchema, encodingSchema, loadClientConfig, writeClientConfig } from './client-config.js';
export type { ClientConfig } from './client-config.js';
export { connectGrid, connectGridAs, clientIdentity, openStoragePeer } from './grid-connection.js';
export type { GridConnection, GridConnectionOptions, GridSession, GridMember, StorageSession } from './grid-connection.js';
export { StoragePeer } from './storage-peer.js';
export type { ShareWriter } from './storage-peer.js';
export { permutedServers, placeShares, dealShares, happinessOf, releasePlacement, confirmHeldShares, PERMUTE_TAG } from './placement.js';
export type { Placement, PlacementParams, ServerFailure, ExpectedShares } from './placement.js';
export { randomReadKey, convergentFileKey } from './convergence.js';
export { uploadFile } from './uploader.js';
export type { UploadOptions, UploadProgress, UploadResult } from './uploader.js';
export { findShares, readFileInfo } from './share-map.js';
export type { ShareLocation, ShareMap, FileInfo } from './share-map.js';
export { SegmentFetcher, emptyReport } from './segment-fetcher.js';
export type { DownloadReport } from './segment-fetcher.js';
export { ciphertextSegments, fileSegments, downloadFile } from './downloader.js';
export type { DownloadSink, DownloadOptions, DownloadResult } from './downloader.js';
export type { SegmentOptions, CiphertextSegment } from './ciphertext-segment.js';
export { gatewaySegments } from './gateway-segments.js';
export type { GatewayAccess } from './gateway-segments.js';
export { checkFile } from './checker.js';
export type { CheckResult, CheckOptions, CheckSession, ServerCheck, ShareHealth } from './checker.js';
export { repairFile } from './repairer.js';
export type { RepairResult, RepairedShare, RepairOptions } from './repairer.js';
