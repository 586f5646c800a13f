import { ModulesContainer } from '@nestjs/core';
import type { ApiError, PathParameterKind } from '@flotilla/shared';
import { registeredRoutes } from '../openapi/registered-routes';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

/** Well-formed values that name nothing this control plane holds. */
const UNKNOWN: Record<PathParameterKind, string> = {
  uuid: '00000000-0000-4000-8000-000000000000',
  deviceId: 'ghost-device',
  componentName: 'ghost',
  version: '1.0.0',
  registryHost: 'registry.example.com',
  signingKeyId: 'ed25519:0123456789abcdef',
  sha256Digest: `sha256:${'0'.repeat(64)}`,
};

describe('a read of something that does not exist', () => {
  it('is a 404 on every GET route with a path parameter, lists of its children included', async () => {
    // Public routes take a device's own credentials, which an unknown id cannot have (a 401).
    const reads = registeredRoutes(h.cp.app.get(ModulesContainer)).filter(
      (r) => r.method === 'get' && !r.isPublic && Object.keys(r.params).length > 0,
    );
    expect(reads.length).toBeGreaterThan(10);
    const answers: [string, number, string][] = [];
    for (const r of reads) {
      const path = r.path.replace(/:([A-Za-z0-9_]+)/g, (_, p: string) => UNKNOWN[r.params[p]!]);
      const res = await h.api(path);
      const body = (await res.json()) as ApiError;
      answers.push([r.path, res.status, res.status === 404 ? 'not found' : JSON.stringify(body).slice(0, 80)]);
    }
    expect(answers.filter(([, status]) => status !== 404)).toEqual([]);
  });
});
