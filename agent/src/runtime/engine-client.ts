import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { EngineAddressError, EngineSilentError } from './errors';

/** Where the engine listens: a unix socket (the default), or plain TCP from `DOCKER_HOST=tcp://…`. */
export type EngineAddress = { socketPath: string } | { host: string; port: number };

export const DEFAULT_ENGINE_SOCKET = '/var/run/docker.sock';

/**
 * How long the engine may send nothing on a call before the agent gives up on it. A hung dockerd
 * otherwise holds the update step (and the reconcile behind it) for good; given up, the call fails
 * transiently and the step is retried with backoff. Generous: removing a large image on a slow SD
 * card, or stopping a container, sends nothing until it is done (`stop` adds its own grace period).
 */
export const ENGINE_SILENCE_LIMIT_MS = 120_000;

/** A non-2xx answer from the engine; `statusCode` is what callers branch on (304, 404, 409, …). */
export class EngineHttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineHttpError';
  }
}

export interface EngineRequest {
  query?: Record<string, string | number | boolean | object | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Overrides the client's silence limit for this call; `null` for a stream that may rightly stay quiet (followed logs). */
  silenceLimitMs?: number | null;
}

/**
 * The few Docker Engine API calls the agent makes, as plain HTTP over the engine's socket.
 * Not dockerode: with docker-modem, ssh2, gRPC and protobuf it cost the agent about 15 MB of
 * resident memory for features a device never uses (BENCHMARKS.md "agent"). Paths are
 * unversioned, so the engine answers with its own API version, as dockerode did.
 */
export class EngineClient {
  constructor(
    readonly address: EngineAddress = { socketPath: DEFAULT_ENGINE_SOCKET },
    readonly silenceLimitMs: number = ENGINE_SILENCE_LIMIT_MS,
  ) {}

  /** `DOCKER_HOST` as the docker CLI reads it: `unix:///path` or `tcp://host:port`; unset means the default socket. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): EngineClient {
    const host = env.DOCKER_HOST;
    if (!host) return new EngineClient();
    if (host.startsWith('unix://')) return new EngineClient({ socketPath: host.slice('unix://'.length) });
    const tcp = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(host);
    if (tcp) return new EngineClient({ host: tcp[1]!, port: Number(tcp[2]) });
    throw new EngineAddressError(host);
  }

  /** A call whose answer is JSON (or empty: 204, 304); throws `EngineHttpError` on a non-2xx status. */
  async json<T>(method: string, path: string, options: EngineRequest = {}): Promise<T> {
    const res = await this.send(method, path, options);
    const body = await readAll(res);
    const text = body.toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A call whose answer is bytes (logs without follow). */
  async buffer(method: string, path: string, options: EngineRequest = {}): Promise<Buffer> {
    return readAll(await this.send(method, path, options));
  }

  /** A call whose answer is read as it comes (pull progress, followed logs); the caller consumes or destroys it. */
  async stream(method: string, path: string, options: EngineRequest = {}): Promise<IncomingMessage> {
    return this.send(method, path, options);
  }

  private send(method: string, path: string, options: EngineRequest): Promise<IncomingMessage> {
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string | number> = { ...options.headers };
    if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': body.length });
    const limit = options.silenceLimitMs === undefined ? this.silenceLimitMs : options.silenceLimitMs;
    return new Promise((resolve, reject) => {
      let answer: IncomingMessage | undefined;
      const req = request({ ...this.address, method, path: path + queryString(options.query), headers }, (res) => {
        answer = res;
        const status = res.statusCode ?? 0;
        if (status < 300 || status === 304) {
          if (limit === null) req.setTimeout(0);
          return resolve(res);
        }
        readAll(res).then((raw) => reject(new EngineHttpError(status, `${method} ${path}: HTTP ${status}: ${engineMessage(raw)}`)), reject);
      });
      if (limit !== null) giveUpOnSilence(req, limit, method, path, () => answer);
      req.on('error', reject);
      req.end(body);
    });
  }
}

/**
 * Ends the call with `EngineSilentError` once the engine has sent nothing for `limitMs`: the
 * socket's idle timer covers the wait for the answer and every gap inside its body. `answer` is
 * the response once it has begun, destroyed with the same error so that its reader sees it.
 */
export function giveUpOnSilence(
  req: ClientRequest,
  limitMs: number,
  method: string,
  path: string,
  answer: () => IncomingMessage | undefined,
): void {
  req.setTimeout(limitMs, () => {
    const silent = new EngineSilentError(method, path, limitMs);
    answer()?.destroy(silent);
    req.destroy(silent);
  });
}

function queryString(query: EngineRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    params.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The engine words its errors as `{"message": "…"}`. */
function engineMessage(raw: Buffer): string {
  const text = raw.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the text as it is
  }
  return text;
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}
