import { createServer } from 'node:http';
import { ExpressAdapter } from '@nestjs/platform-express';
import { httpServerOptions, type ConnectionBounds } from '../limits/connection-bounds';
import { refusingNonUrls } from './url-guard';

/**
 * Nest's Express adapter with the plain HTTP server made under the control plane's connection
 * bounds: Nest creates it with Node's defaults (a request's headers may take 60 s, its body
 * 300 s, checked every 30 s), and some of them can only be given when the server is created.
 * The start options this adapter is given (`bodyParser: false`, no HTTPS) need nothing else of
 * the base class's `initHttpServer`. A request whose target is no URL never reaches Express (`refusingNonUrls`).
 */
export class BoundedExpressAdapter extends ExpressAdapter {
  constructor(private readonly bounds: ConnectionBounds) {
    super();
  }

  override initHttpServer(): void {
    this.httpServer = createServer(httpServerOptions(this.bounds), refusingNonUrls(this.getInstance()));
  }
}
