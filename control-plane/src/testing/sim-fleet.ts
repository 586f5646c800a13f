import type { ProvisioningTokenView, RegisterDeviceResponse, ReleaseView } from '@flotilla/shared';
import { SimDevice, type SimDeviceOptions } from './sim-device';

/** fetch against a control plane with a key (the bootstrap admin key unless told). */
export type Api = (path: string, init?: RequestInit & { key?: string | null }) => Promise<Response>;

export function apiClient(baseUrl: () => string, defaultKey: string): Api {
  return (path, init = {}) => {
    const { key = defaultKey, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (key !== null) headers.set('authorization', `Bearer ${key}`);
    if (typeof rest.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${baseUrl()}${path}`, { ...rest, headers });
  };
}

export async function json<T>(res: Promise<Response> | Response, expected?: number): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (expected !== undefined && r.status !== expected) throw new Error(`expected ${expected}, got ${r.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Registers `count` devices through the real API (one provisioning token used `count` times). */
export async function registerDevices(api: Api, count: number, namePrefix = 'sim'): Promise<RegisterDeviceResponse[]> {
  const token = await json<ProvisioningTokenView>(
    api('/api/v1/provisioning-tokens', { method: 'POST', body: JSON.stringify({ maxUses: count }) }),
    201,
  );
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      json<RegisterDeviceResponse>(
        api('/api/v1/devices/register', {
          method: 'POST',
          key: null,
          body: JSON.stringify({ token: token.token, name: `${namePrefix}-${i}` }),
        }),
        201,
      ),
    ),
  );
}

/** Registers and starts `count` simulated devices; `options(i)` tailors each. */
export async function startSimFleet(
  api: Api,
  mqttUrl: string,
  count: number,
  options: (index: number) => Partial<SimDeviceOptions> = () => ({}),
): Promise<SimDevice[]> {
  const registered = await registerDevices(api, count);
  return Promise.all(
    registered.map((d, i) => new SimDevice({ mqttUrl, deviceId: d.deviceId, password: d.password, ...options(i) }).start()),
  );
}

export function manifest(version: string, image = `127.0.0.1:5000/flotilla/busybox@sha256:${'b'.repeat(64)}`): string {
  return `name: origin\nx-flotilla: { version: ${version} }\nservices:\n  web:\n    image: ${image}\n    command: httpd -f -p 8080\n`;
}

export async function publishRelease(api: Api, version: string, image?: string): Promise<ReleaseView> {
  const res = await api('/api/v1/releases', {
    method: 'POST',
    body: manifest(version, image),
    headers: { 'content-type': 'application/yaml' },
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`publish ${version}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ReleaseView;
}

/** Polls `probe` until it returns a value, for state the control plane writes asynchronously. */
export async function until<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe().catch((e: unknown) => {
      last = e;
      return undefined;
    });
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
