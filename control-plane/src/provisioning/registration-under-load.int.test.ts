import type { ApiError, ProvisioningTokenView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';
import { LockingSession } from '../testing/locking-session';

/**
 * Registrations while the database cannot keep up, on a real PostgreSQL: a pool of two
 * connections (one fewer and the start's migration lock cannot be had), and a transaction of the
 * test holding the provisioning token's row, so the first two registrations hold the pool's
 * connections and every other one waits for one past the pool's connect timeout. That is how the HA compose e2e got an HTTP 500 on one of 1,000 registrations
 * (three replicas, pool timeouts at load 30-40): the pool's "timeout exceeded when trying to
 * connect" reached the client as an internal error, after the token's use had been taken.
 */
const CONNECT_TIMEOUT_MS = 1000;
const POOL = 2;
let h: Harness;
let admin: LockingSession;

beforeAll(async () => {
  h = await startHarness({ databasePool: { max: POOL, connectTimeoutMs: CONNECT_TIMEOUT_MS } });
  admin = await LockingSession.open(h.db.url);
}, 60_000);
afterAll(async () => {
  await admin?.end();
  await h?.close();
});

async function createToken(maxUses: number): Promise<ProvisioningTokenView> {
  const res = await h.api('/api/v1/provisioning-tokens', { method: 'POST', body: JSON.stringify({ maxUses }) });
  expect(res.status).toBe(201);
  return (await res.json()) as ProvisioningTokenView;
}

function register(token: string, name: string): Promise<Response> {
  return h.api('/api/v1/devices/register', { method: 'POST', auth: false, body: JSON.stringify({ token, name }) });
}

/** Locks the token's row until the returned release, as a slow concurrent registration would. */
async function holdToken(tokenId: string): Promise<() => Promise<void>> {
  await admin.query('BEGIN');
  await admin.query('SELECT 1 FROM provisioning_tokens WHERE id = $1 FOR UPDATE', [tokenId]);
  return async () => {
    await admin.query('COMMIT');
  };
}

/** Until as many backends of the control plane wait on the token's row lock as its pool has connections: all are taken. */
async function poolHeldByRegistrations(): Promise<void> {
  await admin.waitersOn('provisioning_tokens', POOL);
}

it('registers every device, each use of the token taken once, when registrations wait past the pool timeout', async () => {
  const devices = 12;
  const token = await createToken(devices);
  const release = await holdToken(token.id);
  const first = Array.from({ length: POOL }, (_, i) => register(token.token, `load-${i}`));
  await poolHeldByRegistrations();
  const rest = Array.from({ length: devices - POOL }, (_, i) => register(token.token, `load-${POOL + i}`));
  // Longer than the pool's connect timeout: the waiting registrations fail to get a connection at least once.
  await new Promise((resolve) => setTimeout(resolve, 2 * CONNECT_TIMEOUT_MS));
  await release();

  const answers = await Promise.all([...first, ...rest]);
  const bodies = await Promise.all(answers.map(async (r) => `${r.status} ${(await r.text()).slice(0, 200)}`));
  expect(bodies.filter((b) => !b.startsWith('201 '))).toEqual([]);
  const [stored] = await h.db.query<{ uses: number; devices: string }>(
    `SELECT t.uses, (SELECT count(*) FROM devices WHERE name LIKE 'load-%') AS devices FROM provisioning_tokens t WHERE t.id = $1`,
    [token.id],
  );
  expect({ uses: stored!.uses, devices: Number(stored!.devices) }).toEqual({ uses: devices, devices });
}, 60_000);

it('answers 503 with Retry-After, not 500, on any route while no database connection can be had', async () => {
  const token = await createToken(POOL);
  const release = await holdToken(token.id);
  const held = Array.from({ length: POOL }, (_, i) => register(token.token, `held-${i}`));
  await poolHeldByRegistrations();
  const res = await h.api('/api/v1/devices');
  await release();
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('2');
  expect((await res.json()) as ApiError).toMatchObject({ statusCode: 503, code: 'database_unavailable' });
  expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(POOL).fill(201));
}, 60_000);
