import { ApiRequestError, createApiClient, type ApiCallArgs, type ApiResponse, type ApiRouteKey } from '@flotilla/shared/http-client';

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

const client = createApiClient({ key: () => session.key() });

/** Calls a route by its key (`'GET /api/v1/devices/:id'`), typed from its declaration in @flotilla/shared. */
export async function api<K extends ApiRouteKey>(route: K, ...args: ApiCallArgs<K>): Promise<ApiResponse<K>> {
  try {
    return await client.call(route, ...args);
  } catch (e) {
    if (e instanceof ApiRequestError && e.status === 401) session.signOut();
    throw failure(e);
  }
}

/** Tries a key before it is kept: one read with it, the session untouched. */
export async function checkKey(key: string): Promise<void> {
  try {
    await createApiClient({ key: () => key }).call('GET /api/v1/dashboard/overview');
  } catch (e) {
    throw failure(e);
  }
}

function failure(e: unknown): unknown {
  if (!(e instanceof ApiRequestError)) return e;
  return new ApiFailure(e.status, e.body.code ?? 'error', e.message, e.body.issues ?? []);
}
