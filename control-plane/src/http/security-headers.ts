import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * The dashboard loads its script, stylesheet and data from this origin only (its icon is a
 * data: URI, React sets inline styles through the CSSOM, which CSP does not govern); nothing may
 * frame it, and no string becomes markup. JSON answers carry the same policy: harmless there, and one policy for every answer.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  // Chromium then refuses a string for an HTML or script sink (innerHTML, insertAdjacentHTML,
  // document.write, eval): a device string that reached one through a future escaping mistake
  // throws instead of becoming markup. The app writes none; React touches innerHTML only for
  // dangerouslySetInnerHTML and <script> elements, which it renders neither.
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  // For browsers that predate `frame-ancestors`.
  'x-frame-options': 'DENY',
  // Dashboard URLs name devices and rollouts; no other site needs to learn them.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * Express middleware, registered first so that every answer carries the headers: API, dashboard
 * files, event streams, and errors raised before any route (body too large, malformed URL, 404).
 * A route with inline content of its own (the API docs page) replaces the CSP with a stricter one.
 */
export function securityHeaders(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  // API answers hold fleet data read with a key the tab forgets when it closes: the browser must not
  // keep them on disk (it does, for revalidation, when an answer has an ETag). The dashboard's files
  // and the event stream state their own caching, which replaces this.
  res.setHeader('cache-control', 'no-store');
  // Only over TLS (RFC 6797 §7.2): a browser that once reached the dashboard over HTTPS never
  // falls back to plain HTTP for a year. The plain listener serves this machine only.
  if ((req.socket as Partial<TLSSocket>).encrypted) res.setHeader('strict-transport-security', STRICT_TRANSPORT_SECURITY);
  next();
}

export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';
