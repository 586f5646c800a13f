import { EVENTS_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Controller, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Actor } from '../auth/actor.decorator';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { OperatorKeysService } from '../auth/operator-keys.service';
import { ChangeFeed } from './change-feed';
import type { LiveEvent } from '@flotilla/shared';

/** Comment lines keep proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/**
 * Server-sent events for live pages. The browser reads it with fetch (not EventSource) so the
 * operator key goes in the Authorization header like on every other route. The stream ends
 * when that key is revoked: a client reconnecting with it is then refused by the guard.
 */
@Controller()
export class EventsController {
  constructor(
    private readonly feed: ChangeFeed,
    private readonly keys: OperatorKeysService,
  ) {}

  @ApiEndpoint(EVENTS_ROUTES.stream)
  stream(@Req() req: IncomingMessage, @Res() res: ServerResponse, @Actor() actor: OperatorPrincipal): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const send = (event: LiveEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    send({ type: 'hello', at: new Date().toISOString() });
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    const unsubscribe = this.feed.subscribe(send, () => res.end());
    const unwatch = this.keys.watch(actor, () => res.end());
    const close = () => {
      clearInterval(keepalive);
      unsubscribe();
      unwatch();
    };
    req.on('close', close);
    res.on('error', close);
  }
}
