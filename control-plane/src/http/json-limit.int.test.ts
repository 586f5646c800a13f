import { MAX_DEVICE_ID_LENGTH, MAX_JSON_BODY_BYTES, MAX_ROLLOUT_DEVICE_IDS, type ApiError } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const ids = Array.from({ length: MAX_ROLLOUT_DEVICE_IDS }, (_, i) => `d${String(i).padStart(MAX_DEVICE_ID_LENGTH - 1, '0')}`);

describe('the JSON body limit', () => {
  it('lets through the largest rollout request the schemas allow (it was a 413 past 100 KB)', async () => {
    const body = JSON.stringify({
      releaseId: '00000000-0000-4000-8000-000000000000',
      selection: { deviceIds: ids },
      phases: [{ deviceIds: ids.slice(0, 5_000) }, { deviceIds: ids.slice(5_000) }],
    });
    expect(body.length).toBeGreaterThan(1_000_000);
    for (const path of ['/api/v1/rollouts/plan', '/api/v1/rollouts']) {
      const res = await h.api(path, { method: 'POST', body });
      const answer = (await res.json()) as ApiError;
      // Read and validated: the release is unknown.
      expect([path, res.status, answer.code]).toEqual([path, 404, expect.stringMatching(/release/)]);
    }
  });

  it('refuses a larger body with 413 in the API error shape', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(MAX_JSON_BODY_BYTES) });
    const res = await h.api('/api/v1/fleets', { method: 'POST', body });
    const answer = (await res.json()) as ApiError;
    expect([res.status, answer.statusCode, answer.code]).toEqual([413, 413, 'payload_too_large']);
  });
});
