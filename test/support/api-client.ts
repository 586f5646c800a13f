/** A thin REST client for tests: every call returns status and parsed body, never throws on 4xx. */
export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {}

  get<T = unknown>(path: string): Promise<ApiResponse<T>> {
    return this.send<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown, contentType = 'application/json'): Promise<ApiResponse<T>> {
    return this.send<T>('POST', path, body, contentType);
  }

  put<T = unknown>(path: string, body: unknown): Promise<ApiResponse<T>> {
    return this.send<T>('PUT', path, body, 'application/json');
  }

  private async send<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (contentType) headers['content-type'] = contentType;
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text, the caller's assertion will show it
    }
    return { status: res.status, body: parsed as T };
  }
}
