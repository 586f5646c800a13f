import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { MAX_JSON_BODY_BYTES, MAX_MANIFEST_BYTES } from '@flotilla/shared';
import { UnsupportedError } from '../domain-error';

/** Media types under which `POST /api/v1/releases` and `POST /api/v1/components` accept raw YAML. */
export const MANIFEST_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];

/** Every media type some parser reads; a body in any other is refused before a route sees it. */
export const ACCEPTED_MEDIA_TYPES = ['application/json', ...MANIFEST_MEDIA_TYPES];

export class UnsupportedMediaTypeError extends UnsupportedError {
  constructor(contentType: string | undefined) {
    super(
      'unsupported_media_type',
      `a body of type ${contentType ? `"${contentType.slice(0, 100)}"` : 'unstated'} cannot be read; send it as ${ACCEPTED_MEDIA_TYPES.join(', ')} (YAML only where a manifest is expected)`,
    );
  }
}

/**
 * True when the request announces a body (RFC 9112 §6.3: a non-zero Content-Length or any
 * Transfer-Encoding). A Content-Length of 0 is no body, like none at all.
 */
function carriesBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0' && !/^0+$/.test(length);
}

/**
 * Express middleware after the parsers: a body that none of them read (its media type is none
 * they know, or it has none) is answered 415, never handed to a route as if it were absent (the
 * routes then validated `{}` and wrote defaults: a `merge-patch+json` host policy emptied the
 * lists). body-parser leaves `req.body` undefined when it did not parse the body.
 */
export function unparsedBodyGuard(req: IncomingMessage & { body?: unknown }, _res: ServerResponse, next: (err?: unknown) => void): void {
  next(req.body === undefined && carriesBody(req) ? new UnsupportedMediaTypeError(req.headers['content-type']) : undefined);
}

/**
 * The body parsers of the API, in place of Nest's defaults (no URL-encoded forms: no route takes
 * one), then the guard. JSON up to what the largest schema accepts (`MAX_JSON_BODY_BYTES`, about
 * 1.3 MiB: a rollout of 10,000 listed devices); YAML manifests up to their own limit.
 */
export function useBodyParsers(app: NestExpressApplication): void {
  app.useBodyParser('json', { limit: MAX_JSON_BODY_BYTES });
  app.useBodyParser('text', { type: MANIFEST_MEDIA_TYPES, limit: MAX_MANIFEST_BYTES });
  app.use(unparsedBodyGuard);
}
