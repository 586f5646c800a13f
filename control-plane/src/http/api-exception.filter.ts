import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ApiError } from '@flotilla/shared';
import { DataFileWriteError } from '../data-dir/data-file';
import { isTransientDbError, writesRefusedReason } from '../database/transient-errors';
import { DomainError, type DomainErrorKind } from '../domain-error';

/** The part of express' response this filter uses (express' types are not a dependency). */
interface JsonResponse {
  status(code: number): { json(body: unknown): unknown };
  setHeader(name: string, value: string): unknown;
}

/** Seconds a client waits before asking again after a 503 (the database was busy or away). */
const RETRY_AFTER_S = 2;

const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unsupported: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  timeout: HttpStatus.GATEWAY_TIMEOUT,
};

/** Codes for errors raised by the framework itself (unknown route, body parser limits). */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/**
 * The one place where errors become HTTP responses, all with the shared `ApiError` body.
 * A database that is busy or away for a moment (a pool timeout under load, a failover: what
 * `isTransientDbError` recognises) is a 503 with Retry-After on every route, so that clients
 * retry instead of reporting an internal error (a registration writes all it writes in one
 * transaction, so its retry repeats nothing). A database that refuses every write (its disk is
 * full: 507 `database_disk_full`; read-only: 503 `database_read_only`) and a full disk under the
 * data directory (507 `disk_full`) are told apart from it and from a fault of the request: nothing
 * was written, reads still work, and the same request passes once the operator has made room.
 * Anything else unexpected is logged in full and answered with a 500 that leaks no internals.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Api');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<JsonResponse>();
    const body = this.toApiError(exception);
    if (body.statusCode === HttpStatus.SERVICE_UNAVAILABLE || body.statusCode === HttpStatus.INSUFFICIENT_STORAGE)
      response.setHeader('retry-after', String(RETRY_AFTER_S));
    response.status(body.statusCode).json(body);
  }

  private toApiError(exception: unknown): ApiError {
    if (exception instanceof DomainError) {
      const body: ApiError = { statusCode: STATUS_OF_KIND[exception.kind], code: exception.code, message: exception.message };
      if (exception.issues) body.issues = exception.issues.map((i) => ({ path: i.path, message: i.message }));
      return body;
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      return { statusCode, code: CODE_OF_STATUS[statusCode] ?? `http_${statusCode}`, message: exception.message };
    }
    // Errors from express middleware (body-parser) carry their own status.
    const status = httpStatusOf(exception);
    if (status !== undefined && status >= 400 && status < 500) {
      return { statusCode: status, code: CODE_OF_STATUS[status] ?? `http_${status}`, message: (exception as Error).message };
    }
    const refused = writesRefusedReason(exception);
    if (refused) {
      this.logger.error(`the database refuses writes, answered ${refused === 'disk_full' ? 507 : 503}: ${(exception as Error).message}`);
      return refused === 'disk_full'
        ? {
            statusCode: HttpStatus.INSUFFICIENT_STORAGE,
            code: 'database_disk_full',
            message: "the database's disk is full: nothing was written; retry once it has room",
          }
        : {
            statusCode: HttpStatus.SERVICE_UNAVAILABLE,
            code: 'database_read_only',
            message: 'the database is read-only: nothing was written; retry once it accepts writes',
          };
    }
    if (exception instanceof DataFileWriteError && exception.diskFull) {
      this.logger.error(exception.message);
      return {
        statusCode: HttpStatus.INSUFFICIENT_STORAGE,
        code: 'disk_full',
        message: "the control plane's disk is full: nothing was written; retry once it has room",
      };
    }
    if (isTransientDbError(exception)) {
      this.logger.warn(`database unavailable, answered 503: ${(exception as Error).message}`);
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'database_unavailable',
        message: 'the database is busy or unreachable; retry',
      };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { statusCode: 500, code: 'internal_error', message: 'internal error' };
  }
}

function httpStatusOf(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { status, statusCode } = exception as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' ? value : undefined;
}
