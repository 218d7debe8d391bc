/**
 * Shares as objects in an S3 bucket (Ceph RGW, MinIO, AWS): the second share
 * backend (docs/storage.md "S3 backend").
 *
 *   <prefix>shares/<si[0:2]>/<si>/<shnum>      one object per complete share
 *   <dataDir>/incoming/<si>/<shnum>.<random>   uploads being written (local)
 *
 * An upload is spooled to the local temp file first (so a conflicting one
 * is judged before anything is replaced), then `install` sends it: one PUT
 * up to PART_BYTES, a multipart upload above (aborted on any failure). S3
 * makes an object visible only once it is complete, so no partial object is
 * ever listed, and `install` returns only after the object store
 * acknowledged it. Reads are ranged GETs. The SDK retries 5xx, throttling
 * and timeouts with backoff; what still fails becomes a clear error
 * (UNAVAILABLE naming the store, RESOURCE_EXHAUSTED for a bucket quota),
 * never a wrong byte: a short or long answer to a ranged GET is refused.
 */
import {
  S3Client,
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  ListMultipartUploadsCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, QuotaError, UnavailableError } from '../../libs/errors/index.js';
import { IncomingDir, type IncomingShare } from './incoming-share.js';
import { ShareMissingError, readRange, type ShareBackend, type ShareReader, type StoredShare } from './share-backend.js';
import { MAX_SHARE_NUMBER } from './request-checks.js';

// The SDK version is pinned for Node 20 on purpose (package.json); its notice that later ones need Node 22 is not ours to print.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Shares up to this size go in one PUT; larger ones in parts of this size (S3 parts are 5 MiB – 5 GiB). */
export const PART_BYTES = 16 * 1024 * 1024;

export interface S3BackendConfig {
  endpoint: string;
  bucket: string;
  region: string;
  /** Key prefix of this server's objects ('' or ending in '/'), so servers can share a bucket. */
  prefix: string;
  /** Absent: the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style URLs (http://host/bucket/key), as Ceph and MinIO serve them; default true. */
  forcePathStyle: boolean;
  /** What Stats reports as this server's room: capacityBytes − stored. Absent: unbounded. */
  capacityBytes?: number;
}

const SI_HEX = /^[0-9a-f]{32}$/;
const SHNUM = /^(0|[1-9][0-9]{0,2})$/;

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken']);

export class S3ShareStore implements ShareBackend {
  readonly description: string;
  private readonly s3: S3Client;
  private readonly incoming: IncomingDir;
  private readonly sharesPrefix: string;

  constructor(
    private readonly cfg: S3BackendConfig,
    private readonly dataDir: string,
  ) {
    this.description = `s3 ${cfg.endpoint.replace(/\/+$/, '')}/${cfg.bucket}/${cfg.prefix}`;
    this.sharesPrefix = `${cfg.prefix}shares/`;
    this.incoming = new IncomingDir(join(dataDir, 'incoming'));
    this.s3 = new S3Client({
      endpoint: cfg.endpoint,
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      ...(cfg.accessKeyId && cfg.secretAccessKey ? { credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } } : {}),
      maxAttempts: 5,
      retryMode: 'standard',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    });
  }

  key(storageIndex: string, shareNumber: number): string {
    return `${this.sharesPrefix}${storageIndex.slice(0, 2)}/${storageIndex}/${shareNumber}`;
  }

  /** Checks the bucket and the credentials (creating the bucket when it does not exist); aborts multipart uploads a crash left. */
  async init(): Promise<void> {
    await mkdir(join(this.dataDir, 'incoming'), { recursive: true });
    try {
      // A listing, not HeadBucket: its error answers carry a code (HeadBucket's 403 and 404 have no body).
      await this.s3.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: this.sharesPrefix, MaxKeys: 1 }));
    } catch (err) {
      if (this.code(err) === 'NoSuchBucket') {
        await this.s3.send(new CreateBucketCommand({ Bucket: this.cfg.bucket })).catch((c: unknown) => {
          throw this.configError(c, `cannot create bucket '${this.cfg.bucket}'`);
        });
      } else {
        throw this.configError(err, `cannot reach bucket '${this.cfg.bucket}'`);
      }
    }
    const listed = await this.s3.send(new ListMultipartUploadsCommand({ Bucket: this.cfg.bucket, Prefix: this.sharesPrefix })).catch((err: unknown) => {
      throw this.configError(err, `cannot list bucket '${this.cfg.bucket}'`);
    });
    for (const u of listed.Uploads ?? []) {
      if (u.Key && u.UploadId) await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.cfg.bucket, Key: u.Key, UploadId: u.UploadId })).catch(() => undefined);
    }
  }

  createIncoming(storageIndex: string, shareNumber: number): Promise<IncomingShare> {
    return this.incoming.create(storageIndex, shareNumber);
  }

  tidyIncoming(storageIndex: string): Promise<void> {
    return this.incoming.tidy(storageIndex);
  }

  clearIncoming(): Promise<string[]> {
    return this.incoming.clear();
  }

  async install(incoming: IncomingShare, storageIndex: string, shareNumber: number): Promise<void> {
    const Key = this.key(storageIndex, shareNumber);
    const what = `storing share ${shareNumber} of ${storageIndex}`;
    const reader = await incoming.reader();
    try {
      if (reader.size <= PART_BYTES) {
        const Body = await readRange(reader, 0, reader.size);
        await this.send(() => this.s3.send(new PutObjectCommand({ Bucket: this.cfg.bucket, Key, Body, ContentLength: reader.size })), what);
      } else {
        await this.multipart(Key, reader, what);
      }
    } finally {
      await reader.close();
    }
    // The object store holds it now: the local copy is no longer needed.
    await incoming.discard();
  }

  private async multipart(Key: string, reader: ShareReader, what: string): Promise<void> {
    const { UploadId } = await this.send(() => this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.cfg.bucket, Key })), what);
    if (!UploadId) throw new UnavailableError(`object store ${this.description}: ${what}: no upload id in its answer`);
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      const buf = new Uint8Array(PART_BYTES);
      for (let pos = 0, n = 1; pos < reader.size; pos += PART_BYTES, n++) {
        const len = Math.min(PART_BYTES, reader.size - pos);
        const Body = await readRange(reader, pos, len, buf.subarray(0, len));
        const r = await this.send(() => this.s3.send(new UploadPartCommand({ Bucket: this.cfg.bucket, Key, UploadId, PartNumber: n, Body, ContentLength: len })), what);
        if (!r.ETag) throw new UnavailableError(`object store ${this.description}: ${what}: part ${n} has no ETag`);
        parts.push({ ETag: r.ETag, PartNumber: n });
      }
      await this.send(() => this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.cfg.bucket, Key, UploadId, MultipartUpload: { Parts: parts } })), what);
    } catch (err) {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.cfg.bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  async openShare(storageIndex: string, shareNumber: number): Promise<ShareReader> {
    const Key = this.key(storageIndex, shareNumber);
    const what = `reading share ${shareNumber} of ${storageIndex}`;
    const head = await this.send(() => this.s3.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key })), what);
    const size = head.ContentLength ?? 0;
    return {
      size,
      read: async (into, offset, length, position) => {
        const end = Math.min(size, position + length);
        if (end <= position) return 0;
        const got = await this.send(() => this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key, Range: `bytes=${position}-${end - 1}` })), what);
        const bytes = await got.Body!.transformToByteArray();
        // A ranged GET that answers another length is not the range asked for: never pass it on.
        if (bytes.length !== end - position) throw new UnavailableError(`object store ${this.description}: ${what}: asked for ${end - position} bytes at ${position}, got ${bytes.length}`);
        into.set(bytes, offset);
        return bytes.length;
      },
      close: async () => undefined,
    };
  }

  async remove(storageIndex: string, shareNumber: number): Promise<void> {
    await this.send(() => this.s3.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(storageIndex, shareNumber) })), `deleting share ${shareNumber} of ${storageIndex}`).catch((err: unknown) => {
      if (!(err instanceof ShareMissingError)) throw err;
    });
  }

  async listShares(): Promise<StoredShare[]> {
    const out: StoredShare[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await this.send(() => this.s3.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: this.sharesPrefix, ...(ContinuationToken ? { ContinuationToken } : {}) })), 'listing shares');
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        const [prefix, si, name, ...rest] = o.Key.slice(this.sharesPrefix.length).split('/');
        const valid = rest.length === 0 && si !== undefined && name !== undefined && SI_HEX.test(si) && si.startsWith(prefix ?? '') && prefix?.length === 2 && SHNUM.test(name) && Number(name) <= MAX_SHARE_NUMBER;
        out.push({ storageIndex: si ?? '', shareNumber: valid ? Number(name) : -1, size: o.Size ?? 0, location: o.Key });
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return out;
  }

  async removeJunk(location: string): Promise<void> {
    if (!location.startsWith(this.sharesPrefix)) throw new Error(`${location} is not under ${this.sharesPrefix}`);
    await this.send(() => this.s3.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: location })), `deleting ${location}`);
  }

  async availableBytes(storedBytes: number): Promise<number> {
    return this.cfg.capacityBytes === undefined ? Number.MAX_SAFE_INTEGER : Math.max(0, this.cfg.capacityBytes - storedBytes);
  }

  close(): void {
    this.s3.destroy();
  }

  /** Sends a command; what fails after the SDK's retries becomes a clear error. */
  private async send<T>(call: () => Promise<T>, what: string): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.runtimeError(err, what);
    }
  }

  private code(err: unknown): string {
    const e = err as SdkError;
    return e.Code ?? e.name ?? e.code ?? 'Error';
  }

  private runtimeError(err: unknown, what: string): Error {
    const e = err as SdkError;
    const code = this.code(err);
    const status = e.$metadata?.httpStatusCode;
    if (code === 'NoSuchKey' || code === 'NotFound' || status === 404) return new ShareMissingError(`${what}: no such object in ${this.description}`, { cause: err });
    if (code === 'QuotaExceeded') return new QuotaError(`${what}: the S3 bucket '${this.cfg.bucket}' is over its quota (${this.description}: QuotaExceeded)`, { cause: err });
    const detail = CREDENTIAL_ERRORS.has(code) ? `it refused this server's credentials (${code})` : `${code}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? ''}`.trim();
    return new UnavailableError(`object store ${this.description} failed ${what}: ${detail}`, { cause: err });
  }

  private configError(err: unknown, what: string): ConfigError {
    const code = this.code(err);
    const status = (err as SdkError).$metadata?.httpStatusCode;
    const why = CREDENTIAL_ERRORS.has(code) || status === 403
      ? `the object store refuses these credentials (${CREDENTIAL_ERRORS.has(code) ? code : `HTTP ${status}`}): check shareBackend.accessKeyId and secretAccessKey`
      : `${code}${status ? ` (HTTP ${status})` : ''}${(err as SdkError).message ? `: ${(err as SdkError).message}` : ''}`;
    return new ConfigError(`share backend ${this.description}: ${what}: ${why}`);
  }
}
