/**
 * The dashboard (docs/web.md "Dashboard"):
 *
 *   GET /            upload a file, fetch one by its cap, and the status part
 *   GET /status      the status part alone
 *   GET /download    the download form: 303 to /uri/CAP?filename=NAME
 *   GET /app.js, /app.css   the page's one script and style sheet (public/)
 *
 * Plain HTML forms, so everything works without a script; app.js adds an
 * upload progress bar, a copy button and a live download link. The status
 * part is rendered here, on the server (status-page.ts). Every page carries
 * a strict Content-Security-Policy: only this server's own script and style.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadClientConfig } from '../../libs/client/index.js';
import type { AdminTarget } from '../cli/status/service-config.js';
import { escapeHtml, html, type Html } from './html.js';
import type { WebPages } from './server.js';
import { statusPart, type StatusSection } from './status-page.js';
import { collectStatus, type ReportFunctions } from './status-source.js';

export { escapeHtml };

export interface DashboardOptions {
  /** The client.json the server uploads and downloads as. */
  clientConfig: string;
  /** Grid admins / the clearinghouse operator whose status the page shows (services/cli/status/service-config.ts loadAdminTarget), in order. */
  admins: readonly AdminTarget[];
  /** The report calls (tests); default those of `intergrid status`. */
  reports?: ReportFunctions;
}

/** The name a download gets when the form gives none. */
export const DEFAULT_FILENAME = 'download';

/** Only this origin's script and style; no inline code, no frames, forms post here only. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const PAGE_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  // Caps travel in this page's URLs (?uploaded=, /uri/CAP): never in a Referer to
  // another site. Not no-referrer: under it a browser's form post says
  // `Origin: null`, which the upload route refuses as another site's.
  'Referrer-Policy': 'same-origin',
};

const ASSETS: Record<string, { file: string; type: string }> = {
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** public/NAME next to this module (the build copies public/ into dist/services/web/). */
function readAsset(name: string): Buffer {
  return readFileSync(new URL(`./public/${name}`, import.meta.url));
}

/** /uri/CAP, with ?filename=NAME when given. */
export function fileHref(cap: string, filename?: string): string {
  return `/uri/${encodeURIComponent(cap)}${filename ? `?filename=${encodeURIComponent(filename)}` : ''}`;
}

function layout(title: string, body: Html, script: boolean): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/app.css">
${script ? html`<script src="/app.js" defer></script>\n` : ''}</head>
<body>
${body}
</body>
</html>
`.text;
}

/** GET /: the upload and download forms, then the status part. `uploaded` is the cap a plain form upload just returned. */
export function dashboardPage(areaCode: string, sections: readonly StatusSection[], uploaded?: string): string {
  return layout(
    `Intergrid — grid ${areaCode}`,
    html`<header><h1>Intergrid <span class="grid">home grid ${areaCode}</span></h1></header>
<main>
<section id="upload" aria-labelledby="upload-title">
<h2 id="upload-title">Upload a file</h2>
<form id="upload-form" method="post" action="/uri" enctype="multipart/form-data">
<input type="file" name="file" id="upload-file" required>
<button type="submit" id="upload-button">Upload</button>
</form>
<div id="upload-progress" hidden>
<progress id="upload-bar" max="100" value="0"></progress>
<output id="upload-percent" for="upload-file">0 %</output>
<span id="upload-state"></span>
</div>
<p id="upload-error" class="error" role="alert" hidden></p>
<div id="uploaded"${uploaded ? '' : html` hidden`}>
<p>Uploaded<span id="uploaded-name"></span>. Its cap (anyone holding it can read the file):</p>
<p><code id="uploaded-cap">${uploaded ?? ''}</code></p>
<p><a id="uploaded-link" href="${uploaded ? fileHref(uploaded, DEFAULT_FILENAME) : '#'}">Download it</a>
<button type="button" id="copy-cap" hidden>Copy the cap</button> <span id="copy-state" role="status"></span></p>
</div>
</section>
<section id="download" aria-labelledby="download-title">
<h2 id="download-title">Download a file</h2>
<form id="download-form" method="get" action="/download">
<p><label for="download-cap">Cap</label>
<input name="cap" id="download-cap" size="80" placeholder="URI:CHK:…" autocomplete="off" spellcheck="false" required></p>
<p><label for="download-name">Save as</label>
<input name="filename" id="download-name" placeholder="${DEFAULT_FILENAME}" autocomplete="off">
<button type="submit">Download</button>
<a id="download-link" href="#" hidden>Download link</a></p>
</form>
</section>
${sections.length > 0 ? html`<section id="status-part" aria-label="Status">${statusPart(sections)}<p class="refresh"><a href="/">Refresh</a> · <a href="/status">Status alone</a></p></section>` : ''}
</main>`,
    true,
  );
}

/** GET /status: the status part alone. */
export function statusPage(areaCode: string, sections: readonly StatusSection[]): string {
  const body = sections.length > 0 ? statusPart(sections) : html`<p>No --admin identity given: no status to show.</p>`;
  return layout(`Intergrid — status`, html`<header><h1>Intergrid status <span class="grid">from home grid ${areaCode}</span></h1></header>
<main>
${body}
<p class="refresh"><a href="/status">Refresh</a> · <a href="/">Dashboard</a></p>
</main>`,
    false,
  );
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...PAGE_HEADERS, ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function createDashboard(opts: DashboardOptions): WebPages {
  const areaCode = loadClientConfig(opts.clientConfig).areaCode;
  // Read now: a missing file is an error at start, not on the first request.
  const assets = new Map(Object.entries(ASSETS).map(([path, a]) => [path, { type: a.type, body: readAsset(a.file) }]));
  const sections = (): Promise<StatusSection[]> => collectStatus(opts.admins, opts.reports);
  return {
    async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const asset = assets.get(url.pathname);
      if (asset) {
        send(req, res, 200, asset.type, asset.body, { 'Cache-Control': 'no-cache' });
        return true;
      }
      switch (url.pathname) {
        case '/download': {
          // The download form: on to the file's own URL, saved under the name given.
          const cap = (url.searchParams.get('cap') ?? '').trim();
          const name = (url.searchParams.get('filename') ?? '').trim() || DEFAULT_FILENAME;
          res.writeHead(303, { Location: fileHref(cap, name), 'Content-Length': 0, ...PAGE_HEADERS });
          res.end();
          return true;
        }
        case '/':
          send(req, res, 200, 'text/html; charset=utf-8', dashboardPage(areaCode, await sections(), url.searchParams.get('uploaded') ?? undefined));
          return true;
        case '/favicon.ico':
          // None: an empty answer instead of a 404 in every browser console.
          res.writeHead(204, PAGE_HEADERS);
          res.end();
          return true;
        case '/status':
          send(req, res, 200, 'text/html; charset=utf-8', statusPage(areaCode, await sections()));
          return true;
        default:
          return false;
      }
    },
  };
}
