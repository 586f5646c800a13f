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

export type Client = <T>(path: string, init?: { method?: string; body?: unknown; yaml?: string }) => Promise<T>;

export function client(config: CliConfig, fetchImpl: typeof fetch = fetch): Client {
  return async <T>(path: string, init: { method?: string; body?: unknown; yaml?: string } = {}): Promise<T> => {
    if (!config.key) {
      throw new CliError(EXIT.auth, 'no operator key', 'run `flotilla login --key KEY` or set FLOTILLA_API_KEY');
    }
    const headers: Record<string, string> = { authorization: `Bearer ${config.key}` };
    let body: string | undefined;
    if (init.yaml !== undefined) {
      headers['content-type'] = 'application/yaml';
      body = init.yaml;
    } else if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    let res: Response;
    try {
      res = await fetchImpl(`${config.api}${path}`, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
    } catch (e) {
      throw new CliError(
        EXIT.api,
        `cannot reach the control plane at ${config.api} (${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message})`,
        'start it (npm start) or point FLOTILLA_API at it',
      );
    }
    const text = await res.text();
    if (res.ok) return (text ? JSON.parse(text) : undefined) as T;
    let parsed: ApiErrorBody;
    try {
      parsed = JSON.parse(text) as ApiErrorBody;
    } catch {
      parsed = { message: text || res.statusText };
    }
    throw errorFor(res.status, parsed, config);
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
