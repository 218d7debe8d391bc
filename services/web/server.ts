/**
 * `intergrid web`: a local HTTP server in front of the client library
 * (docs/web.md). Routes:
 *
 *   PUT  /uri            upload the body; 201 with the read-cap as text
 *   POST /uri            upload a multipart form's `file` field (the page's form)
 *   GET  /uri/CAP        download (Range, ETag, immutable); HEAD too
 *   GET  /               the dashboard (dashboard.ts)
 *   GET  /status         the admins' status part alone (no script needed)
 *
 * On loopback every request must name this server in its Host header (a web
 * page on another site cannot reach it through DNS rebinding), and a
 * browser's upload must come from this server's own page (Origin), so
 * another site cannot spend the account's quota.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, NotFoundError } from '../../libs/errors/index.js';
import type { GridConnection } from '../../libs/client/index.js';
import { ClientSessions } from './client-sessions.js';
import { handleDownload, handleUpload, sendError, sendText, type FileApiContext } from './file-api.js';

/** How long one grid connection (its directory snapshot) serves new requests. */
const SESSION_MAX_AGE_MS = 30_000;
/** A request's headers must arrive within this; bodies and downloads may take as long as they flow. */
const HEADERS_TIMEOUT_MS = 30_000;
/** A connection with no byte moving either way for this long is closed. */
const IDLE_TIMEOUT_MS = 120_000;

export interface WebPages {
  /** GET / and GET /status, and their assets; undefined when the path is not theirs. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

export interface WebServerOptions {
  /** host:port; port 0 picks a free port. */
  listen: string;
  /** Opens a connection to the home grid (client.json's). */
  openClient: () => Promise<GridConnection>;
  /** The dashboard; without it only the API is served. */
  pages?: WebPages;
  spoolDir?: string;
  log?(line: string): void;
}

export interface RunningWebServer {
  /** http://HOST:PORT */
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startWebServer(opts: WebServerOptions): Promise<RunningWebServer> {
  const { host, port } = splitListen(opts.listen);
  const sessions = new ClientSessions(opts.openClient, SESSION_MAX_AGE_MS);
  const log = opts.log ?? ((line: string) => process.stderr.write(`intergrid web: ${line}\n`));
  const ctx: FileApiContext = { sessions, log, ...(opts.spoolDir ? { spoolDir: opts.spoolDir } : {}) };
  let origin = '';
  const names = new Set<string>();

  const server = createServer({ requestTimeout: 0, headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
    route(req, res).catch((err: unknown) => sendError(res, err));
  });
  server.setTimeout(IDLE_TIMEOUT_MS, (socket) => socket.destroy());

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // On loopback only this machine's own names are answered (DNS rebinding);
    // bound beyond it, the operator chose who reaches it.
    if (names.size > 0 && !names.has((req.headers.host ?? '').toLowerCase())) {
      sendText(res, 421, `this server answers as ${[...names][0]}, not '${(req.headers.host ?? '').slice(0, 100)}'`);
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', origin);
    } catch {
      // Node's parser lets through targets the URL parser refuses (`http://[::1/…`): the caller's fault.
      throw new InvalidArgumentError('the request target is not a valid URL');
    }
    const path = url.pathname;
    if (path === '/uri' || path === '/uri/') {
      if (req.method !== 'PUT' && req.method !== 'POST') return methodNotAllowed(res, 'PUT, POST');
      const from = req.headers.origin;
      if (from !== undefined && from !== `http://${req.headers.host ?? ''}`) {
        sendText(res, 403, `uploads from another site (${from.slice(0, 100)}) are refused`);
        return;
      }
      return handleUpload(ctx, req, res);
    }
    if (path.startsWith('/uri/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
      let capText;
      try {
        capText = decodeURIComponent(path.slice('/uri/'.length));
      } catch {
        throw new InvalidArgumentError('the cap in the path is not valid percent-encoding');
      }
      return handleDownload(ctx, req, res, capText, url.searchParams);
    }
    if (opts.pages && (await opts.pages.handle(req, res, url))) return;
    throw new NotFoundError(`no such page: ${path.slice(0, 100)}`);
  }

  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  origin = `http://${shown}:${addr.port}`;
  if (isLoopback(addr.address)) for (const name of [shown, 'localhost']) names.add(`${name}:${addr.port}`.toLowerCase());

  return {
    url: origin,
    server,
    async close() {
      sessions.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendText(res, 405, `use ${allow}`, { Allow: allow });
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** 'HOST:PORT' (IPv6 in brackets) → parts. */
export function splitListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`bad --listen '${listen}': expected HOST:PORT (port 0 picks a free one)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** True unless the server is reachable only from this machine. */
export function listensBeyondLoopback(listen: string): boolean {
  const { host } = splitListen(listen);
  return !(host === 'localhost' || isLoopback(host));
}
