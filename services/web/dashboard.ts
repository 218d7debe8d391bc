/**
 * The dashboard at GET / (docs/web.md "Dashboard"): upload a file, fetch one
 * by its cap. Plain HTML forms, so it works without a script.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadClientConfig } from '../../libs/client/index.js';
import type { WebPages } from './server.js';

export interface DashboardOptions {
  /** The client.json the server uploads and downloads as. */
  clientConfig: string;
  /** Grid admin / clearinghouse operator identity files whose status the page shows. */
  admins: readonly string[];
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function createDashboard(opts: DashboardOptions): WebPages {
  const areaCode = loadClientConfig(opts.clientConfig).areaCode;
  return {
    async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (url.pathname === '/download') {
        // The download form: on to the file's own URL.
        const cap = (url.searchParams.get('cap') ?? '').trim();
        res.writeHead(303, { Location: `/uri/${encodeURIComponent(cap)}`, 'Content-Length': 0 });
        res.end();
        return true;
      }
      if (url.pathname !== '/') return false;
      const uploaded = url.searchParams.get('uploaded');
      const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intergrid — grid ${escapeHtml(areaCode)}</title></head>
<body>
<h1>Intergrid, home grid ${escapeHtml(areaCode)}</h1>
${uploaded ? `<p id="uploaded">Uploaded: <code>${escapeHtml(uploaded)}</code> <a href="/uri/${encodeURIComponent(uploaded)}">download</a></p>` : ''}
<h2>Upload</h2>
<form method="post" action="/uri" enctype="multipart/form-data"><input type="file" name="file" required> <button>Upload</button></form>
<h2>Download</h2>
<form method="get" action="/download"><input name="cap" size="80" placeholder="URI:CHK:…" required> <button>Download</button></form>
</body></html>
`;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
