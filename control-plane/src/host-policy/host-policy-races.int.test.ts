import { Client } from 'pg';
import {
  EMPTY_HOST_POLICY,
  type ApiError,
  type DeviceView,
  type FleetView,
  type Page,
  type ReleaseView,
  type RolloutDeviceView,
  type RolloutView,
} from '@flotilla/shared';
import { RolloutEngine } from '../rollouts/rollout-engine';
import { startHarness, type Harness } from '../testing/harness';
import { LOCK_FLEETS_SQL } from './host-policy.repository';

/**
 * A fleet's host policy and the releases bound to its devices are checked and written under the
 * fleet's lock, in one transaction (HostPolicyService). Here the test's own connection plays the
 * other side: it takes the fleet's lock, as a narrowing (or a binding) under way holds it between
 * its check and its write, makes that write, and the request must wait for it, then answer by it.
 * Without the lock the request went ahead on what it read before, and a fleet ran a release its
 * policy no longer allowed.
 */
let h: Harness;
let side: Client;
let engine: RolloutEngine;
let powered: ReleaseView;
let plain: ReleaseView;
beforeAll(async () => {
  h = await startHarness();
  side = new Client({ connectionString: h.db.url });
  await side.connect();
  engine = h.cp.app.get(RolloutEngine);
  powered = (await call<ReleaseView>('POST', '/api/v1/releases', manifest('1.0.0', '    volumes: ["/run/flotilla:/run/flotilla"]\n'))).body;
  plain = (await call<ReleaseView>('POST', '/api/v1/releases', manifest('1.0.1'))).body;
});
afterAll(async () => {
  await side?.end();
  await h?.close();
});
afterEach(() => side.query('ROLLBACK'));

const image = `127.0.0.1:5000/flotilla/busybox@sha256:${'e'.repeat(64)}`;
const manifest = (version: string, service = '') =>
  `name: races\nx-flotilla: { version: ${version} }\nservices:\n  app:\n    image: ${image}\n${service}`;
const WIDE = { bindMounts: ['/run/flotilla'] };

async function call<T>(method: string, path: string, body?: unknown) {
  const yaml = typeof body === 'string';
  const res = await h.api(path, {
    method,
    ...(body === undefined ? {} : { body: yaml ? body : JSON.stringify(body) }),
    ...(yaml ? { headers: { 'content-type': 'application/yaml' } } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

let fleets = 0;
/** A fleet (with `policy` when given) and a device in it assigned `release`. */
async function fleetWithDevice(policy: typeof WIDE | null, release: ReleaseView | null = plain) {
  const fleet = (await call<FleetView>('POST', '/api/v1/fleets', { name: `f${++fleets}` })).body;
  if (policy) expect((await call('PUT', `/api/v1/fleets/${fleet.id}/host-policy`, policy)).status).toBe(200);
  const { deviceId } = await h.registerDevice();
  expect((await call('PUT', `/api/v1/devices/${deviceId}/fleet`, { fleetId: fleet.id })).status).toBe(200);
  if (release) expect((await call('PUT', `/api/v1/devices/${deviceId}/release`, { releaseId: release.id })).status).toBe(200);
  return { fleetId: fleet.id, deviceId };
}

/** The test's connection takes the fleets' locks, in a transaction left open until `side.query('COMMIT')`. */
async function hold(...fleetIds: string[]): Promise<void> {
  await side.query('BEGIN');
  await side.query(LOCK_FLEETS_SQL, [fleetIds]);
}

/** A narrowing committed while the lock is held: what the admin's PUT writes. */
const narrow = (fleetId: string) =>
  side.query(
    `INSERT INTO fleet_host_policies (fleet_id, policy, updated_by) VALUES ($1, $2, 'test')
     ON CONFLICT (fleet_id) DO UPDATE SET policy = EXCLUDED.policy`,
    [fleetId, JSON.stringify(EMPTY_HOST_POLICY)],
  );

/**
 * Resolves once another connection of this database waits for a fleet's lock (`row`: for a row
 * the test changed); throws if it waits for another lock instead, or `pending` settles first (it
 * did not wait).
 */
async function waitsForLock(pending: Promise<unknown>, lock: 'advisory' | 'row' = 'advisory'): Promise<void> {
  let settled = false;
  void pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (;;) {
    const { rows } = await side.query<{ locktype: string }>(
      `SELECT l.locktype FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND a.datname = current_database()`,
    );
    const kinds = lock === 'advisory' ? ['advisory'] : ['transactionid', 'tuple'];
    if (rows.some((r) => kinds.includes(r.locktype))) return;
    if (rows.length > 0) throw new Error(`it waits for a ${rows[0]!.locktype} lock, not a ${lock} lock`);
    if (settled) throw new Error(`it went ahead without waiting for a ${lock} lock`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const desired = async (deviceId: string) => (await call<DeviceView>('GET', `/api/v1/devices/${deviceId}`)).body;
const refusal = (r: { status: number; body: ApiError }) => [r.status, r.body.code];

describe('a release with host powers is bound under the fleet lock, and answers by a narrowing committed meanwhile', () => {
  const binders: Record<string, (s: { fleetId: string; deviceId: string }) => Promise<{ status: number; body: ApiError }>> = {
    'fleet target': (s) => call('PUT', `/api/v1/fleets/${s.fleetId}/target`, { releaseId: powered.id }),
    'device assignment': (s) => call('PUT', `/api/v1/devices/${s.deviceId}/release`, { releaseId: powered.id }),
    'device pin': (s) => call('PUT', `/api/v1/devices/${s.deviceId}/pin`, { releaseId: powered.id }),
  };

  it.each(Object.keys(binders))('%s: waits, then is refused with 403', async (kind) => {
    const scene = await fleetWithDevice(WIDE);
    await hold(scene.fleetId);
    await narrow(scene.fleetId);
    const answer = binders[kind]!(scene);
    await waitsForLock(answer);
    await side.query('COMMIT');
    expect(refusal(await answer)).toEqual([403, 'host_powers_not_allowed']);
    const device = await desired(scene.deviceId);
    expect([device.desired.releaseId, device.pinnedReleaseId]).toEqual([plain.id, null]);
    expect((await call<FleetView>('GET', `/api/v1/fleets/${scene.fleetId}`)).body.targetReleaseId).toBeNull();
  });

  it('device move: waits for the fleet it moves into, then is refused with 403', async () => {
    const scene = await fleetWithDevice(WIDE, powered);
    const into = (await fleetWithDevice(WIDE)).fleetId;
    await hold(into);
    await narrow(into);
    const answer = call<ApiError>('PUT', `/api/v1/devices/${scene.deviceId}/fleet`, { fleetId: into });
    await waitsForLock(answer);
    await side.query('COMMIT');
    expect(refusal(await answer)).toEqual([403, 'host_powers_not_allowed']);
    expect((await desired(scene.deviceId)).fleetId).toBe(scene.fleetId);
  });

  it("rollout engine: waits to assign, then fails the device with the policy's reason, unassigned", async () => {
    const scene = await fleetWithDevice(WIDE);
    await hold(scene.fleetId);
    await narrow(scene.fleetId);
    // Created on the policy as committed (wide); the engine's first pass starts at once and waits.
    const rollout = await call<RolloutView>('POST', '/api/v1/rollouts', {
      releaseId: powered.id,
      selection: { deviceIds: [scene.deviceId] },
    });
    expect(rollout.status).toBe(201);
    await waitsForLock(engine.pass());
    await side.query('COMMIT');
    await engine.pass();
    const devices = (await call<Page<RolloutDeviceView>>('GET', `/api/v1/rollouts/${rollout.body.id}/devices`)).body.items;
    expect(devices[0]).toMatchObject({ state: 'failed', assignedRev: null });
    expect(devices[0]!.reason).toMatch(/bind mount "\/run\/flotilla" is not allowed on fleet/);
    expect((await desired(scene.deviceId)).desired.releaseId).toBe(plain.id);
  });

  it('rollout rollback: waits to re-target, then leaves the device where it is', async () => {
    const scene = await fleetWithDevice(WIDE, powered);
    const rollout = (
      await call<RolloutView>('POST', '/api/v1/rollouts', { releaseId: plain.id, selection: { deviceIds: [scene.deviceId] } })
    ).body;
    await engine.pass();
    expect((await desired(scene.deviceId)).desired.releaseId).toBe(plain.id);
    await hold(scene.fleetId);
    await narrow(scene.fleetId);
    const answer = call<RolloutView>('POST', `/api/v1/rollouts/${rollout.id}/rollback`);
    await waitsForLock(answer);
    await side.query('COMMIT');
    const rolledBack = await answer;
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.statusReason).toMatch(/could not re-target .*bind mount "\/run\/flotilla" is not allowed on fleet/);
    expect((await desired(scene.deviceId)).desired.releaseId).toBe(plain.id);
  });

  it('an assignment whose device moved while it waited is checked in the fleet the device is in now', async () => {
    const scene = await fleetWithDevice(WIDE);
    const strict = (await fleetWithDevice(null)).fleetId;
    await hold(scene.fleetId);
    const answer = call<ApiError>('PUT', `/api/v1/devices/${scene.deviceId}/release`, { releaseId: powered.id });
    await waitsForLock(answer);
    await side.query('UPDATE devices SET fleet_id = $2 WHERE id = $1', [scene.deviceId, strict]);
    await side.query('COMMIT');
    expect(refusal(await answer)).toEqual([403, 'host_powers_not_allowed']);
    expect((await desired(scene.deviceId)).desired.releaseId).toBe(plain.id);
  });

  it('a release without host powers takes no lock: bound while a narrowing holds it', async () => {
    const scene = await fleetWithDevice(WIDE, null);
    await hold(scene.fleetId);
    expect((await call('PUT', `/api/v1/devices/${scene.deviceId}/release`, { releaseId: plain.id })).status).toBe(200);
    expect((await call('PUT', `/api/v1/fleets/${scene.fleetId}/target`, { releaseId: plain.id })).status).toBe(202);
    const rollout = (
      await call<RolloutView>('POST', '/api/v1/rollouts', { releaseId: plain.id, selection: { deviceIds: [scene.deviceId] } })
    ).body;
    await engine.pass();
    const devices = (await call<Page<RolloutDeviceView>>('GET', `/api/v1/rollouts/${rollout.id}/devices`)).body.items;
    expect(devices[0]!.assignedRev).not.toBeNull();
  });
});

describe("the admin's policy write waits for a binding under way, then sees it", () => {
  it('narrowing under a release a device was just assigned: 409, the policy unchanged', async () => {
    const scene = await fleetWithDevice(WIDE);
    await hold(scene.fleetId);
    await side.query('UPDATE devices SET desired_release_id = $2 WHERE id = $1', [scene.deviceId, powered.id]);
    const answer = call<ApiError>('PUT', `/api/v1/fleets/${scene.fleetId}/host-policy`, EMPTY_HOST_POLICY);
    await waitsForLock(answer);
    await side.query('COMMIT');
    expect(refusal(await answer)).toEqual([409, 'host_policy_in_use']);
    expect((await call<{ policy: unknown }>('GET', `/api/v1/fleets/${scene.fleetId}/host-policy`)).body.policy).toMatchObject(WIDE);
  });

  it('a device move waits for a binding under way in the fleet it leaves, then checks what it was bound to', async () => {
    const scene = await fleetWithDevice(WIDE);
    const strict = (await fleetWithDevice(null)).fleetId;
    await hold(scene.fleetId);
    await side.query('UPDATE devices SET desired_release_id = $2 WHERE id = $1', [scene.deviceId, powered.id]);
    const answer = call<ApiError>('PUT', `/api/v1/devices/${scene.deviceId}/fleet`, { fleetId: strict });
    await waitsForLock(answer);
    await side.query('COMMIT');
    expect(refusal(await answer)).toEqual([403, 'host_powers_not_allowed']);
    expect((await desired(scene.deviceId)).fleetId).toBe(scene.fleetId);
  });
});

describe("a device that takes its fleet's target waits for a target change under way, and takes the new target", () => {
  /** Prepares a device to take the target of `fleetId`, and answers the step that takes it, which answers the device's id. */
  const joins: Record<string, (fleetId: string) => Promise<() => Promise<string>>> = {
    registered: async (fleetId) => {
      const token = (await call<{ token: string }>('POST', '/api/v1/provisioning-tokens', { fleetId })).body.token;
      return async () => {
        const res = await h.api('/api/v1/devices/register', { method: 'POST', auth: false, body: JSON.stringify({ token }) });
        expect(res.status).toBe(201);
        return ((await res.json()) as { deviceId: string }).deviceId;
      };
    },
    unpinned: async (fleetId) => {
      const { deviceId } = await h.registerDevice();
      expect((await call('PUT', `/api/v1/devices/${deviceId}/fleet`, { fleetId })).status).toBe(200);
      expect((await call('PUT', `/api/v1/devices/${deviceId}/pin`, { releaseId: plain.id })).status).toBe(200);
      return async () => {
        expect((await call('DELETE', `/api/v1/devices/${deviceId}/pin`)).status).toBe(200);
        return deviceId;
      };
    },
    moved: async (fleetId) => {
      const { deviceId } = await h.registerDevice();
      return async () => {
        expect((await call('PUT', `/api/v1/devices/${deviceId}/fleet`, { fleetId })).status).toBe(200);
        return deviceId;
      };
    },
  };

  it.each(Object.keys(joins))('%s', async (how) => {
    const fleet = (await call<FleetView>('POST', '/api/v1/fleets', { name: `f${++fleets}` })).body;
    expect((await call('PUT', `/api/v1/fleets/${fleet.id}/host-policy`, WIDE)).status).toBe(200);
    expect((await call('PUT', `/api/v1/fleets/${fleet.id}/target`, { releaseId: powered.id })).status).toBe(202);
    const takeTarget = await joins[how]!(fleet.id);
    // What setting the target writes first, in the statement that then starts its job; the job
    // does not see a device whose change is uncommitted, and would leave it on the old target.
    await side.query('BEGIN');
    await side.query('UPDATE fleets SET target_release_id = $2 WHERE id = $1', [fleet.id, plain.id]);
    const taken = takeTarget();
    await waitsForLock(taken, 'row');
    await side.query('COMMIT');
    const view = await desired(await taken);
    expect([view.fleetId, view.pinnedReleaseId, view.desired.releaseId]).toEqual([fleet.id, null, plain.id]);
  });
});
