import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

/** Where `npm run build:dashboard` writes the app (control-plane/dashboard/dist). */
export const DASHBOARD_DIST = join(__dirname, '..', '..', 'dashboard', 'dist');

/** Paths the app never owns: the API and operations routes answer them (or 404 as JSON). */
const NOT_APP = /^\/(api|healthz|readyz|metrics)(\/|$)/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

export type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * Serves the built single-page app: files under `dir` as they are, and index.html for any other
 * GET outside the API so that deep links (/devices/abc) load the app. The files are public: they
 * hold no data, and every API call the app makes needs the operator key.
 */
export function dashboardMiddleware(dir = DASHBOARD_DIST): Middleware {
  const root = normalize(dir + sep);
  return (req, res, next) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_APP.test(path)) return next();
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) return next();
    void (async () => {
      const isFile = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      const served = isFile ? file : join(root, 'index.html');
      const exists =
        isFile ||
        (await stat(served).then(
          () => true,
          () => false,
        ));
      if (!exists) return next();
      res.writeHead(200, {
        'content-type': TYPES[extname(served)] ?? 'application/octet-stream',
        // Asset names carry a content hash; index.html must be re-read to find new ones.
        'cache-control': served.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(served).pipe(res);
    })().catch(() => next());
  };
}
