import type { ApiError } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const header = 'name: hostile\nx-flotilla: { version: 1.0.0 }\nservices:\n  web:\n    image: web:1\n    environment:\n';

/** The densest way to write many keys: a flow map, about 9 bytes a key. */
function flowKeys(n: number): string {
  return `${header}      { ${Array.from({ length: n }, (_, i) => `k${i}: 0`).join(', ')} }\n`;
}

function blockKeys(n: number): string {
  return header + Array.from({ length: n }, (_, i) => `      KEY_${i}: value\n`).join('');
}

function publish(yaml: string, path = '/api/v1/releases'): Promise<Response> {
  return h.api(path, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml });
}

/**
 * Polls /healthz back to back until `work` settles; the longest round trip is how long the
 * event loop (shared by the API, the broker and this client) was held. Before the duplicate-key
 * check was made linear, the 23,000-key manifest below held it for about 4 s.
 */
async function longestHealthzDuring<T>(work: Promise<T>): Promise<{ result: T; longestMs: number; answers: number }> {
  let done = false;
  let longestMs = 0;
  let answers = 0;
  const poller = (async () => {
    while (!done) {
      const start = performance.now();
      const res = await h.api('/healthz', { auth: false });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      answers++;
      longestMs = Math.max(longestMs, performance.now() - start);
    }
  })();
  const result = await work.finally(() => (done = true));
  await poller;
  return { result, longestMs, answers };
}

describe('manifest limits over HTTP', () => {
  it('refuses a 1 MB manifest of 50,000 keys at the body limit, with /healthz answering throughout', async () => {
    const yaml = blockKeys(50_000);
    expect(yaml.length).toBeGreaterThan(1_000_000);
    const { result: res, answers } = await longestHealthzDuring(publish(yaml));
    expect(res.status).toBe(413);
    expect(((await res.json()) as ApiError).code).toBe('payload_too_large');
    expect(answers).toBeGreaterThan(0);
  });

  it('refuses 23,000 keys that fit in the byte limit in well under a second, /healthz answering during it', async () => {
    const yaml = flowKeys(23_000);
    expect(yaml.length).toBeLessThan(256 * 1024);
    const { result: res, longestMs, answers } = await longestHealthzDuring(publish(yaml));
    expect(res.status).toBe(400);
    expect((await res.json()) as ApiError).toMatchObject({
      code: 'invalid_manifest',
      issues: [{ path: '', message: 'more than 10000 keys and list items' }],
    });
    expect(answers).toBeGreaterThan(0);
    // Measured about 0.2 s (2.8 s once with eight builds beside it); the figure itself is the
    // yaml-limits bench's. The bound only has to tell this from the quadratic check's stall, which
    // held the event loop for 4 s on a quiet machine and over 8 s on a busy one.
    expect(longestMs).toBeLessThan(4000);
  });

  it('answers an alias bomb with 400 naming the problem, on releases and on components', async () => {
    const levels = ['x-a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [prev, name] of [...'abcdefghi'].slice(0, -1).map((c, i) => [c, 'bcdefghi'[i]!])) {
      levels.push(`x-${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = `${levels.join('\n')}\n${header}      A: "1"\n`;
    for (const path of ['/api/v1/releases', '/api/v1/components']) {
      const res = await publish(bomb, path);
      expect(res.status).toBe(400);
      expect(((await res.json()) as ApiError).issues).toEqual([
        {
          path: '',
          message: 'YAML alias expansion refused: aliases nested in aliases would repeat values more than 100 times (an alias bomb)',
        },
      ]);
    }
  });

  it('still refuses a duplicate key, naming its path', async () => {
    const res = await publish(`${header}      A: "1"\n      B: "2"\n      A: "3"\n`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ApiError).issues).toEqual([
      { path: 'services.web.environment.A', message: 'duplicate key "A" (line 9, first at line 7)' },
    ]);
  });
});
