/** The operator key lives in sessionStorage: gone when the tab closes, never in a cookie. */
const KEY = 'flotilla.operatorKey';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn: (key: string) => sessionStorage.setItem(KEY, key),
  signOut: () => {
    sessionStorage.removeItem(KEY);
    window.dispatchEvent(new Event('flotilla:signed-out'));
  },
};

export interface Issue {
  path: string;
  message: string;
}

/** An API answer other than 2xx, with the API's error body. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: RequestInit & { key?: string } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const key = init.key ?? session.key();
  if (key) headers.set('authorization', `Bearer ${key}`);
  if (typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  const text = await res.text();
  const body = text ? (safeJson(text) as Record<string, unknown> | null) : null;
  if (!res.ok) {
    if (res.status === 401 && !init.key) session.signOut();
    throw new ApiFailure(
      res.status,
      String(body?.code ?? 'error'),
      String(body?.message ?? (text || res.statusText)),
      (body?.issues as Issue[] | undefined) ?? [],
    );
  }
  return body as T;
}

export const post = <T>(path: string, body?: unknown) =>
  api<T>(path, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
