/**
 * The one-host Ceph cluster the S3 share backend is tested on
 * (services/cli/launcher/ceph-rgw.ts): a real monitor, OSD and radosgw from
 * Debian's packages in a temp dir, on free loopback ports. It serves S3 with
 * SigV4 checked (a wrong secret or an unknown key is refused), ranged GETs
 * and multipart uploads, keeps its objects and credentials across a restart,
 * and says in one line when a recorded port is taken.
 *
 * Ceph missing → the suite fails with the line saying how to install it
 * (.ci/run installs it); never a silent skip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  S3Client,
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from '../../libs/crypto/index.js';
import { CEPH_MISSING, launchRgw, requireCeph, type RgwCluster } from '../../services/cli/launcher/ceph-rgw.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const START_MS = 180_000;
let dir: string;
let rgw: RgwCluster;

function client(c: RgwCluster, creds = c.credentials): S3Client {
  return new S3Client({ endpoint: c.endpoint, region: c.region, forcePathStyle: true, credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }, maxAttempts: 1 });
}

async function body(c: S3Client, Bucket: string, Key: string, Range?: string): Promise<Buffer> {
  const got = await c.send(new GetObjectCommand({ Bucket, Key, ...(Range ? { Range } : {}) }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'intergrid-rgw-'));
  rgw = await launchRgw({ dir, programs: requireCeph({ install: false }) });
}, START_MS);

afterAll(async () => {
  await rgw?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('Ceph RGW launcher', () => {
  it('says in one line how to install Ceph', () => {
    expect(CEPH_MISSING).not.toContain('\n');
    expect(CEPH_MISSING).toContain('apt-get install');
  });

  it('serves S3 on loopback with SigV4: put, ranged get, multipart, list', async () => {
    expect(rgw.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(rgw.credentialsFile).mode & 0o777).toBe(0o600);
    const s3 = client(rgw);
    await s3.send(new CreateBucketCommand({ Bucket: 'launcher-test' }));
    const data = Buffer.from(randomBytes(300_000));
    await s3.send(new PutObjectCommand({ Bucket: 'launcher-test', Key: 'a/one', Body: data }));
    expect((await body(s3, 'launcher-test', 'a/one')).equals(data)).toBe(true);
    expect((await body(s3, 'launcher-test', 'a/one', 'bytes=1000-1999')).equals(data.subarray(1000, 2000))).toBe(true);

    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'launcher-test', Key: 'a/multi' }));
    const parts = [Buffer.from(randomBytes(5 * 1024 * 1024)), Buffer.from(randomBytes(1234))];
    const done = [];
    for (const [i, p] of parts.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: 'launcher-test', Key: 'a/multi', UploadId: up.UploadId, PartNumber: i + 1, Body: p }));
      done.push({ ETag: r.ETag, PartNumber: i + 1 });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'launcher-test', Key: 'a/multi', UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
    expect((await body(s3, 'launcher-test', 'a/multi')).equals(Buffer.concat(parts))).toBe(true);

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'launcher-test', Prefix: 'a/' }));
    expect((listed.Contents ?? []).map((o) => [o.Key, o.Size])).toEqual([
      ['a/multi', 5 * 1024 * 1024 + 1234],
      ['a/one', 300_000],
    ]);
    s3.destroy();
  }, 60_000);

  it('refuses a wrong secret and an unknown access key (signatures are checked)', async () => {
    const wrongSecret = client(rgw, { accessKeyId: rgw.credentials.accessKeyId, secretAccessKey: 'x'.repeat(48) });
    await expect(wrongSecret.send(new ListObjectsV2Command({ Bucket: 'launcher-test' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    const stranger = client(rgw, { accessKeyId: 'NOBODY0000000000', secretAccessKey: rgw.credentials.secretAccessKey });
    await expect(stranger.send(new ListObjectsV2Command({ Bucket: 'launcher-test' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    wrongSecret.destroy();
    stranger.destroy();
  });

  it('keeps objects and credentials across a restart on the same ports, and names a recorded port that is taken', async () => {
    const s3 = client(rgw);
    const data = Buffer.from(randomBytes(70_000));
    await s3.send(new PutObjectCommand({ Bucket: 'launcher-test', Key: 'kept', Body: data }));
    s3.destroy();
    const before = { endpoint: rgw.endpoint, credentials: rgw.credentials };
    await rgw.stop();

    // The S3 port recorded at the first start is taken: one clear line, nothing started.
    const port = Number(new URL(before.endpoint).port);
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await expect(launchRgw({ dir, programs: requireCeph({ install: false }) })).rejects.toThrow(`127.0.0.1:${port} recorded at the first start is taken`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }

    rgw = await launchRgw({ dir, programs: requireCeph({ install: false }) });
    expect(rgw.endpoint).toBe(before.endpoint);
    expect(rgw.credentials).toEqual(before.credentials);
    const again = client(rgw);
    expect((await body(again, 'launcher-test', 'kept')).equals(data)).toBe(true);
    again.destroy();
  }, START_MS);
});
