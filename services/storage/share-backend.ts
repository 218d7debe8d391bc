/**
 * Where a storage server keeps its complete shares (docs/storage.md "Share
 * backends"): files under its data dir (disk-share-store.ts, the default)
 * or objects in an S3 bucket (s3-share-store.ts). Either way an upload is
 * first written to a local temp file (incoming-share.ts), so a conflicting
 * upload can be judged before anything is replaced, and it becomes a share
 * only when `install` returns: the file renamed into place and fsynced, or
 * the object acknowledged complete by the object store. The database row
 * recorded after that is what makes the share visible (handlers.ts).
 */
import type { IncomingShare } from './incoming-share.js';

/** Random access to one stored share. */
export interface ShareReader {
  /** Bytes in the share. */
  readonly size: number;
  /** Reads up to `length` bytes at `position` into `into[offset…]`; resolves with the count (0 only past the end). */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** A complete share found in the backend. `shareNumber` -1: an entry that does not follow the layout (junk). */
export interface StoredShare {
  storageIndex: string;
  shareNumber: number;
  size: number;
  /** Its path or object key, for logs and removeJunk. */
  location: string;
}

/** The backend does not hold the share (a file or object that is gone). */
export class ShareMissingError extends Error {
  override readonly name = 'ShareMissingError';
}

export interface ShareBackend {
  /** One line for logs and errors, e.g. `disk /data/shares` or `s3 http://host:port/bucket/prefix`. */
  readonly description: string;
  /** Creates what it needs (directories; checks the bucket and the credentials). @throws ConfigError with one line saying what is wrong. */
  init(): Promise<void>;
  /** A fresh local temp file for one upload. */
  createIncoming(storageIndex: string, shareNumber: number): Promise<IncomingShare>;
  /** Tidies after an upload ended (best effort). */
  tidyIncoming(storageIndex: string): Promise<void>;
  /** Makes a finished upload the complete share, durably; resolves only once it is. */
  install(incoming: IncomingShare, storageIndex: string, shareNumber: number): Promise<void>;
  /** @throws ShareMissingError when it is not held. */
  openShare(storageIndex: string, shareNumber: number): Promise<ShareReader>;
  /** Deletes a share; a missing one is not an error. */
  remove(storageIndex: string, shareNumber: number): Promise<void>;
  /** Deletes every unfinished upload (startup: none survives a restart); returns what was removed. */
  clearIncoming(): Promise<string[]>;
  /** Every complete share held (startup reconciliation). */
  listShares(): Promise<StoredShare[]>;
  /** Deletes an entry listShares returned with shareNumber -1. */
  removeJunk(location: string): Promise<void>;
  /** Bytes this server may still store here (`storedBytes`: what its database says it holds). */
  availableBytes(storedBytes: number): Promise<number>;
  /** Releases connections (the server is stopping). */
  close?(): void;
}

/** Reads exactly [offset, offset + length) of a share. @throws Error when the share ends first. */
export async function readRange(reader: ShareReader, offset: number, length: number, into: Uint8Array = new Uint8Array(length)): Promise<Uint8Array> {
  let got = 0;
  while (got < length) {
    const n = await reader.read(into, got, length - got, offset + got);
    if (n === 0) throw new Error(`share ends at ${offset + got}, before [${offset}, ${offset + length})`);
    got += n;
  }
  return into;
}
