import type { RequestListener } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { listenOn } from '../broker/listen-backlog';
import { SECURITY_HEADERS } from '../http/security-headers';
import { httpServerOptions, type ConnectionBounds } from '../limits/connection-bounds';
import { TLS_OPTIONS } from './tls-options';

export interface HttpsListener {
  server: Server;
  port: number;
  /** Hands requests to `handler` (the API's Express app), once it exists. */
  serve(handler: RequestListener): void;
  close(): Promise<void>;
}

/**
 * The HTTPS listener of the API, the dashboard and MQTT over WebSocket (`/mqtt`). It listens
 * before the application is built so that the port is known when provisioning files are
 * written; until `serve` is called it answers 503. A client certificate
 * is asked for (not required): devices present theirs on `/mqtt`; browsers, which hold none
 * from the device CA, are not prompted.
 */
export async function listenHttps(
  settings: { host: string; port: number },
  tls: { keyPem: string; certPem: string; deviceCaPem: string },
  bounds: ConnectionBounds,
): Promise<HttpsListener> {
  let handler: RequestListener | undefined;
  const server = createServer(
    {
      ...TLS_OPTIONS,
      ...httpServerOptions(bounds),
      handshakeTimeout: bounds.tlsHandshakeMs,
      key: tls.keyPem,
      cert: tls.certPem,
      ca: tls.deviceCaPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      if (handler) return handler(req, res);
      // The same headers as every answer of the app (the dashboard's origin may be framed by nothing, ever).
      res.writeHead(503, { ...SECURITY_HEADERS, 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' }).end('starting\n');
    },
  );
  // Devices on MQTT over WebSocket connect here, so a reconnect storm reaches this listener as it
  // reaches the MQTT ones: the same accept queue (broker/listen-backlog.ts).
  await listenOn(server, settings.port, settings.host);
  let closing: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    serve: (app) => void (handler = app),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
