import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { InvalidInputError } from '../domain-error';
import { securityHeaders } from './security-headers';

// C0 controls and DEL: no path segment or query value of this API has a use for them, and
// PostgreSQL refuses NUL in text, so they would otherwise fail deep inside a query.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Why a request target cannot be read, or undefined when it can: every path segment and query
 * name and value must be valid percent-encoded UTF-8 (RFC 3986 §2.1) without control characters.
 * Express itself decodes only route parameters and leaves a bad query value as typed.
 */
export function malformedUrlReason(url: string): string | undefined {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt + 1);
  const parts = [...path.split('/'), ...query.split(/[&=]/).map((p) => p.replaceAll('+', ' '))];
  for (const part of parts) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return `"${part.slice(0, 64)}" is not valid percent-encoded UTF-8`;
    }
    if (CONTROL_CHARACTER.test(decoded)) return `"${part.slice(0, 64)}" decodes to a control character`;
  }
  return undefined;
}

/**
 * The path a request target names; undefined for one that is no URL. Node's parser lets
 * `GET http://[ HTTP/1.1` through, and `new URL` throws on it: in the HTTPS server's 'upgrade'
 * event (MQTT over WebSocket), outside any framework, that was an uncaught exception that stopped
 * the control plane.
 */
export function requestPath(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://x').pathname;
  } catch {
    return undefined;
  }
}

export class MalformedUrlError extends InvalidInputError {
  constructor(reason: string) {
    super('malformed_url', `the URL cannot be read: ${reason}; percent-encode it as UTF-8`);
  }
}

/** Express middleware: answers 400 (through the API's exception filter) before any route sees such a URL. */
export function urlGuard(req: IncomingMessage, _res: ServerResponse, next: (err?: unknown) => void): void {
  const reason = malformedUrlReason(req.url ?? '/');
  next(reason === undefined ? undefined : new MalformedUrlError(reason));
}

/**
 * The Express app as the HTTP and HTTPS servers call it: a request whose target is no URL is
 * answered 400 `malformed_url` before Express sees it. Express' router skips every middleware for
 * a path it cannot parse, so neither the security headers nor `urlGuard` ran, and its final
 * handler answered a 404 page of its own.
 */
export function refusingNonUrls(app: RequestListener): RequestListener {
  return (req, res) => {
    if (requestPath(req.url) !== undefined) return app(req, res);
    securityHeaders(req, res, () => undefined);
    const error = new MalformedUrlError(`"${(req.url ?? '').slice(0, 64)}" is not a URL`);
    const body = JSON.stringify({ statusCode: 400, code: error.code, message: error.message });
    res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  };
}
