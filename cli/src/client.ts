import { ApiRequestError, createApiClient, type ApiClient } from '@flotilla/shared/http-client';
import type { CliConfig } from './config';
import { CliError, EXIT } from './errors';

export interface ApiErrorBody {
  code?: string;
  message?: string;
  issues?: { path: string; message: string }[];
}

/** An API answer other than 2xx, carried as an exit code and the API's own words. */
export class ApiCallError extends CliError {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    exitCode: number,
    message: string,
    hint?: string,
  ) {
    super(exitCode, message, hint);
  }
}

/** The typed API client (@flotilla/shared), its failures turned into exit codes and hints. */
export type Client = ApiClient['call'];

export function client(config: CliConfig, fetchImpl: typeof fetch = fetch): Client {
  const reach: typeof fetch = async (...args) => {
    try {
      return await fetchImpl(...args);
    } catch (e) {
      throw new CliError(
        EXIT.api,
        `cannot reach the control plane at ${config.api} (${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message})`,
        'start it (npm start) or point FLOTILLA_API at it',
      );
    }
  };
  const api = createApiClient({ baseUrl: config.api, key: () => config.key, fetch: reach });
  return async (route, ...args) => {
    if (!config.key) {
      throw new CliError(EXIT.auth, 'no operator key', 'run `flotilla login --key KEY` or set FLOTILLA_API_KEY');
    }
    try {
      return await api.call(route, ...args);
    } catch (e) {
      throw e instanceof ApiRequestError ? errorFor(e.status, e.body, config) : e;
    }
  };
}

export function errorFor(status: number, body: ApiErrorBody, config: Pick<CliConfig, 'keySource' | 'api'>): ApiCallError {
  const message = body.message ?? `HTTP ${status}`;
  if (status === 401) {
    const where = config.keySource === 'env' ? 'FLOTILLA_API_KEY' : 'the key saved by `flotilla login`';
    return new ApiCallError(
      status,
      body,
      EXIT.auth,
      `${config.api} refused ${where}: ${message}`,
      'check the key, or run `flotilla login --key KEY`',
    );
  }
  if (status === 403) return new ApiCallError(status, body, EXIT.auth, message, 'use a key with the operator (or admin) role');
  if (status === 404)
    return new ApiCallError(status, body, EXIT.notFound, message, 'list what exists with `flotilla <devices|releases|fleets|rollouts> ls`');
  return new ApiCallError(status, body, EXIT.api, message);
}
