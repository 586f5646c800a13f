import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError } from '../domain-error';

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
