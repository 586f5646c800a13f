import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';

export interface FileServer {
  port: number;
  /** Requests seen, as "GET /name bytes=from-" lines. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Serves the given files by base name on 127.0.0.1, with single-range `Range` requests
 * (what the agent's OS image download resumes with). Stands for any web server or object
 * store an operator puts OS images on. Over HTTPS with `tls` (a key and certificate PEM).
 */
export async function serveFiles(files: readonly string[], tls?: { keyPem: string; certPem: string }): Promise<FileServer> {
  const byName = new Map(files.map((f) => [`/${basename(f)}`, f]));
  const requests: string[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = byName.get(req.url ?? '');
    requests.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`.trim());
    if (!path || req.method !== 'GET') return void res.writeHead(404).end();
    void stat(path).then(({ size }) => {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      if (start > size) return void res.writeHead(416).end();
      res.writeHead(range ? 206 : 200, {
        'content-length': String(size - start),
        'accept-ranges': 'bytes',
        ...(range ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}),
      });
      createReadStream(path, { start }).pipe(res);
    });
  };
  const server: Server = tls ? createTlsServer({ key: tls.keyPem, cert: tls.certPem }, handle) : createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
