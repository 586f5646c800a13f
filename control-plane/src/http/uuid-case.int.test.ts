import type { CreatedOperatorKey, FleetHostPolicyView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

/** Resolves when the server ends the stream, rejects after `timeoutMs`. */
async function ended(body: ReadableStream<Uint8Array>, timeoutMs: number): Promise<void> {
  const reader = body.getReader();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the stream was still open after ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
    });
    try {
      if ((await Promise.race([reader.read(), timeout])).done) return;
    } finally {
      clearTimeout(timer);
    }
  }
}

describe('a UUID in a path, typed in upper case', () => {
  it('revokes an operator key and ends its open event streams at once, not after the 10 s re-check', async () => {
    const res = await h.api('/api/v1/operators/keys', { method: 'POST', body: '{"name":"wall screen","role":"viewer"}' });
    const viewer = (await res.json()) as CreatedOperatorKey;
    const stream = await h.api('/api/v1/events/stream', { auth: false, headers: { authorization: `Bearer ${viewer.key}` } });
    expect(stream.status).toBe(200);
    const revoked = await h.api(`/api/v1/operators/keys/${viewer.id.toUpperCase()}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    await ended(stream.body!, 3_000);
  });

  it('names the same row as in lower case, also where a service looks the id up in memory', async () => {
    const fleet = (await (await h.api('/api/v1/fleets', { method: 'POST', body: '{"name":"upper"}' })).json()) as { id: string };
    const policy = { bindMounts: ['/data'], devices: [], capabilities: ['NET_ADMIN'] };
    const upper = `/api/v1/fleets/${fleet.id.toUpperCase()}/host-policy`;
    expect((await h.api(upper, { method: 'PUT', body: JSON.stringify(policy) })).status).toBe(200);
    const read = (await (await h.api(upper)).json()) as FleetHostPolicyView;
    expect([read.fleetId, read.policy]).toEqual([fleet.id, policy]);
  });
});
