/**
 * The file half of the web API (docs/web.md): `PUT /uri` and `POST /uri`
 * upload, `GET /uri/CAP` and `HEAD /uri/CAP` download.
 *
 * Uploads are spooled to a private temp file first (the layout needs the
 * size, convergent encryption a full pass), then uploaded from it; memory
 * stays bounded whatever the size. A body that ends early uploads nothing.
 *
 * Downloads send headers only once the first verified bytes are in hand (or
 * the empty file's existence is verified), so a bad cap, a missing file or
 * shares that do not verify get a proper status. A failure after the
 * headers destroys the connection: the client sees a short body, never a
 * complete-looking wrong one.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { parseCap, toVerifyCap, capStorageIndex, formatStorageIndex, redactCap, type Cap } from '../../libs/caps/index.js';
import { InvalidArgumentError } from '../../libs/errors/index.js';
import { downloadFile, emptyReport, uploadFile } from '../../libs/client/index.js';
import { parseRangeHeader } from './range-header.js';
import { downloadErrorOf, httpErrorOf, type HttpError } from './http-status.js';
import type { ClientSessions } from './client-sessions.js';

/** How long a downloaded file may be cached: it never changes (a cap names fixed bytes). */
const IMMUTABLE = 'private, max-age=31536000, immutable';

export interface FileApiContext {
  sessions: ClientSessions;
  /** Where upload spools go (default: the OS temp dir). */
  spoolDir?: string;
  /** Writes one line about a request that failed after its headers (the client only sees a cut connection). */
  log(line: string): void;
}

/** Answers `status` with a one-line text body. */
export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string | number> = {}): void {
  const body = text + '\n';
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(body);
}

export function sendError(res: ServerResponse, err: unknown): void {
  sendHttpError(res, httpErrorOf(err));
}

/** Answers the status and reason; once headers went out, cuts the connection instead (the client sees a short body). */
export function sendHttpError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendText(res, e.status, e.message, e.status === 503 ? { 'Retry-After': 5 } : {});
}

// --- upload ---------------------------------------------------------------

/** `PUT /uri` (the body is the file) or `POST /uri` (a multipart form with a `file` field). */
export async function handleUpload(ctx: FileApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dir = await mkdtemp(join(ctx.spoolDir ?? tmpdir(), 'intergrid-web-'));
  try {
    const spool = join(dir, 'upload');
    if (req.method === 'PUT') {
      await pipeline(req, createWriteStream(spool, { mode: 0o600 }));
    } else {
      await spoolForm(req, spool);
    }
    const result = await ctx.sessions.use((conn) => uploadFile(conn, spool), () => true); // the spool can be sent again
    if (wantsHtml(req)) {
      // A browser's plain form post (no script): a page showing the cap.
      res.writeHead(303, { Location: `/?uploaded=${encodeURIComponent(result.capText)}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    sendText(res, 201, result.capText, { Location: `/uri/${encodeURIComponent(result.capText)}` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function wantsHtml(req: IncomingMessage): boolean {
  return req.method === 'POST' && /\btext\/html\b/.test(req.headers.accept ?? '');
}

/** Spools the first file of a multipart/form-data body (field `file`); other fields are ignored. */
async function spoolForm(req: IncomingMessage, spool: string): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\b/i.test(type)) {
    throw new InvalidArgumentError(`POST /uri takes a multipart/form-data form with a 'file' field (got Content-Type '${type.slice(0, 80)}'); PUT /uri takes the raw bytes`);
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1, fields: 20, fieldSize: 64 * 1024 } });
  } catch (err) {
    throw new InvalidArgumentError(`bad multipart form: ${(err as Error).message}`, { cause: err });
  }
  let written: Promise<void> | undefined;
  parser.on('file', (name: string, stream: Readable) => {
    if (name !== 'file' || written) {
      stream.resume();
      return;
    }
    written = pipeline(stream, createWriteStream(spool, { mode: 0o600 }));
    written.catch(() => undefined); // awaited below
  });
  try {
    await pipeline(req, parser);
  } catch (err) {
    throw new InvalidArgumentError(`bad multipart form: ${(err as Error).message}`, { cause: err });
  }
  if (!written) throw new InvalidArgumentError("the form has no 'file' field");
  await written;
}

// --- download -------------------------------------------------------------

/**
 * `GET /uri/CAP` (and HEAD). A read-cap answers the plaintext; a verify-cap
 * answers the verified ciphertext, and only with `?format=ciphertext`.
 * `?filename=NAME` adds a Content-Disposition so a browser saves it as NAME.
 */
export async function handleDownload(ctx: FileApiContext, req: IncomingMessage, res: ServerResponse, capText: string, query: URLSearchParams): Promise<void> {
  const cap = parseCap(capText);
  const format = query.get('format') ?? (cap.kind === 'read' ? 'plaintext' : undefined);
  if (format !== 'plaintext' && format !== 'ciphertext') {
    if (format === undefined) throw new InvalidArgumentError('a verify-cap names ciphertext only: add ?format=ciphertext to fetch it');
    throw new InvalidArgumentError(`bad format '${format.slice(0, 40)}': expected plaintext or ciphertext`);
  }
  if (format === 'plaintext' && cap.kind !== 'read') throw new InvalidArgumentError('a verify-cap has no read key: only ?format=ciphertext');
  // The verify-cap of a read-cap reads the same verified ciphertext.
  const source: Cap = format === 'ciphertext' && cap.kind === 'read' ? toVerifyCap(cap) : cap;
  const etag = `"${formatStorageIndex(capStorageIndex(cap))}${format === 'ciphertext' ? '.c' : ''}"`;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    ETag: etag,
    'Cache-Control': IMMUTABLE,
    'Accept-Ranges': 'bytes',
    'X-Content-Type-Options': 'nosniff',
  };
  const filename = query.get('filename');
  if (filename) headers['Content-Disposition'] = contentDisposition(filename);
  if (matchesNoneMatch(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const size = cap.size;
  const asked = parseRangeHeader(req.headers.range, size);
  if (asked.kind === 'unsatisfiable') {
    sendText(res, 416, asked.reason, { 'Content-Range': `bytes */${size}` });
    return;
  }
  const range = asked.kind === 'range' ? asked.range : { offset: 0, length: size };
  const status = asked.kind === 'range' ? 206 : 200;
  headers['Content-Length'] = range.length;
  if (status === 206) headers['Content-Range'] = `bytes ${range.offset}-${range.offset + range.length - 1}/${size}`;
  if (req.method === 'HEAD') {
    // Answered from the cap alone: the size and the storage index are in it.
    res.writeHead(status, headers);
    res.end();
    return;
  }

  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const write = async (chunk: Uint8Array): Promise<void> => {
    if (gone.signal.aborted) throw new ClientGone();
    if (!res.headersSent) res.writeHead(status, headers);
    // One listener per wait, removed whichever way it ends (a race of two once() calls
    // left an abort listener behind per wait: thousands on a long download).
    if (!res.write(chunk)) await once(res, 'drain', { signal: gone.signal }).catch(() => undefined);
    if (gone.signal.aborted) throw new ClientGone();
  };
  // What the download saw of the servers: it decides between 502, 503 and 404 (downloadErrorOf).
  let report = emptyReport();
  try {
    const result = await ctx.sessions.use(
      (conn) => downloadFile(conn, source, write, { range, report: (report = emptyReport()) }),
      () => !res.headersSent && !gone.signal.aborted, // once a byte went out, no second try
    );
    if (result.bytes !== range.length) throw new Error(`sent ${result.bytes} of ${range.length} bytes`);
    if (!res.headersSent) res.writeHead(status, headers);
    res.end();
  } catch (err) {
    if (err instanceof ClientGone) return; // the reader went away: nothing to answer
    const e = downloadErrorOf(err, report);
    if (res.headersSent) ctx.log(`GET ${redactCap(cap)} failed after ${status} was sent (connection cut): ${e.message}`);
    sendHttpError(res, e);
  }
}

class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
  }
}

/**
 * If-None-Match (RFC 9110 §13.1.2): `*`, or a list of entity tags compared
 * weakly (a `W/` prefix does not matter), any of which may be ours.
 */
function matchesNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => tag.replace(/^W\//, '') === etag);
}

/** attachment; filename="…" with a safe ASCII fallback and the exact UTF-8 name (RFC 6266, RFC 8187 ext-value). */
function contentDisposition(name: string): string {
  const base = name.replace(/[/\\]/g, '_').slice(0, 255);
  const ascii = base.replace(/[^\x20-\x7e]|["%\\]/g, '_');
  // encodeURIComponent leaves ' ( ) * unescaped; they are not attr-chars (the ' would end the charset part).
  const ext = encodeURIComponent(base).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${ext}`;
}
