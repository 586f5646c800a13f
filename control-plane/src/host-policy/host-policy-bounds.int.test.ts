import type {
  ApiError,
  CreatedOperatorKey,
  DeviceView,
  FleetView,
  Page,
  ReleaseView,
  RolloutDeviceView,
  RolloutView,
} from '@flotilla/shared';
import { RolloutEngine } from '../rollouts/rollout-engine';
import { startHarness, type Harness } from '../testing/harness';

/**
 * What an operator key (not an admin) can make a fleet's devices do, against what the fleet's
 * admin-set host policy allows: by the manifest's fields, by moving devices, and while the
 * admin narrows the policy.
 */
let h: Harness;
let operator = '';
beforeAll(async () => {
  h = await startHarness();
  operator = (await call<CreatedOperatorKey>('POST', '/api/v1/operators/keys', { name: 'ops', role: 'operator' }, 'admin')).body.key;
});
afterAll(() => h?.close());

const image = `127.0.0.1:5000/flotilla/busybox@sha256:${'e'.repeat(64)}`;
const manifest = (version: string, service = '') =>
  `name: bounds\nx-flotilla: { version: ${version} }\nservices:\n  app:\n    image: ${image}\n${service}`;

async function call<T>(method: string, path: string, body: unknown, as: 'admin' | 'operator' = 'operator') {
  const yaml = typeof body === 'string';
  const res = await h.api(path, {
    method,
    ...(body === undefined ? {} : { body: yaml ? body : JSON.stringify(body) }),
    headers: {
      ...(yaml ? { 'content-type': 'application/yaml' } : {}),
      ...(as === 'operator' ? { authorization: `Bearer ${operator}` } : {}),
    },
    ...(as === 'operator' ? { auth: false } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const outcome = (r: { status: number; body: ApiError }) => [r.status, r.body.code, r.body.issues?.map((i) => i.path)];

describe('a fleet host policy bounds what an operator can make its devices do', () => {
  it('refuses at publishing, with 400 at the field, manifest values that reach the engine or the host unchecked', async () => {
    const cases: [string, string][] = [
      ['    labels: { io.flotilla.managed: "false" }\n', 'services.app.labels.io.flotilla.managed'],
      ['    volumes: ["/run/flotilla/../../etc:/etc-host"]\n', 'services.app.volumes.0'],
      ['    devices: ["/dev/i2c-1:rwm"]\n', 'services.app.devices.0'],
    ];
    for (const [field, path] of cases) {
      expect(outcome(await call<ApiError>('POST', '/api/v1/releases', manifest('1.0.0', field)))).toEqual([
        400,
        'invalid_manifest',
        [path],
      ]);
    }
    const badDigest = manifest('1.0.0').replace(image, 'busybox@sha256:xyz');
    expect(outcome(await call<ApiError>('POST', '/api/v1/releases', badDigest))).toEqual([400, 'invalid_manifest', ['services.app.image']]);
  });

  it("checks a device's kept release against the fleet it moves to, and refuses a policy narrower than what a fleet is bound to", async () => {
    const powered = (
      await call<ReleaseView>('POST', '/api/v1/releases', manifest('2.0.0', '    volumes: ["/run/flotilla:/run/flotilla"]\n'))
    ).body;
    const plain = (await call<ReleaseView>('POST', '/api/v1/releases', manifest('2.0.1'))).body;
    const lab = (await call<FleetView>('POST', '/api/v1/fleets', { name: 'lab' }, 'admin')).body;
    const prod = (await call<FleetView>('POST', '/api/v1/fleets', { name: 'prod' }, 'admin')).body;
    expect((await call('PUT', `/api/v1/fleets/${lab.id}/host-policy`, { bindMounts: ['/run/flotilla'] }, 'admin')).status).toBe(200);
    const { deviceId } = await h.registerDevice('mover');
    expect((await call('PUT', `/api/v1/devices/${deviceId}/fleet`, { fleetId: lab.id })).status).toBe(200);
    expect((await call('PUT', `/api/v1/devices/${deviceId}/release`, { releaseId: powered.id })).status).toBe(200);

    // Unpinned, into a fleet without a target (or out of any): the device would keep the powered release.
    for (const fleetId of [prod.id, null]) {
      const moved = await call<ApiError>('PUT', `/api/v1/devices/${deviceId}/fleet`, { fleetId });
      expect(outcome(moved)).toEqual([403, 'host_powers_not_allowed', ['services.app.volumes.0']]);
    }
    expect((await call<DeviceView>('GET', `/api/v1/devices/${deviceId}`, undefined)).body.fleetId).toBe(lab.id);

    // The admin cannot narrow lab's policy under the release its device is assigned, nor under its target.
    const narrowed = await call<ApiError>('PUT', `/api/v1/fleets/${lab.id}/host-policy`, { bindMounts: [] }, 'admin');
    expect(outcome(narrowed)).toEqual([409, 'host_policy_in_use', ['services.app.volumes.0']]);
    expect(narrowed.body.issues![0]!.message).toMatch(/bounds@2\.0\.0 .*bound to 1 device\(s\) of the fleet/);
    expect((await call('PUT', `/api/v1/devices/${deviceId}/release`, { releaseId: plain.id })).status).toBe(200);
    expect((await call('PUT', `/api/v1/fleets/${lab.id}/target`, { releaseId: powered.id })).status).toBe(202);
    const underTarget = await call<ApiError>('PUT', `/api/v1/fleets/${lab.id}/host-policy`, { bindMounts: [] }, 'admin');
    expect(underTarget.body.issues![0]!.message).toMatch(/bound to the fleet's target/);
    expect((await call('PUT', `/api/v1/fleets/${lab.id}/target`, { releaseId: plain.id })).status).toBe(202);
  });

  it('checks a device that joins a running rollout (by a tag) against its own fleet before assigning it', async () => {
    const powered = (
      await call<ReleaseView>('POST', '/api/v1/releases', manifest('3.0.0', '    volumes: ["/run/flotilla:/run/flotilla"]\n'))
    ).body;
    const allowing = (await call<FleetView>('POST', '/api/v1/fleets', { name: 'allowing' }, 'admin')).body;
    const strict = (await call<FleetView>('POST', '/api/v1/fleets', { name: 'strict' }, 'admin')).body;
    expect((await call('PUT', `/api/v1/fleets/${allowing.id}/host-policy`, { bindMounts: ['/run/flotilla'] }, 'admin')).status).toBe(200);
    const inside = (await h.registerDevice('inside')).deviceId;
    const joiner = (await h.registerDevice('joiner')).deviceId;
    expect((await call('PUT', `/api/v1/devices/${inside}/fleet`, { fleetId: allowing.id })).status).toBe(200);
    expect((await call('PUT', `/api/v1/devices/${joiner}/fleet`, { fleetId: strict.id })).status).toBe(200);
    expect((await call('PUT', `/api/v1/devices/${inside}/tags`, { tags: ['kiosk'] })).status).toBe(200);
    const rollout = await call<RolloutView>('POST', '/api/v1/rollouts', { releaseId: powered.id, selection: { tags: ['kiosk'] } });
    expect([rollout.status, rollout.body.totals.devices]).toEqual([201, 1]);

    // The strict fleet's device takes the tag: it joins the selection, and is refused, not assigned.
    expect((await call('PUT', `/api/v1/devices/${joiner}/tags`, { tags: ['kiosk'] })).status).toBe(200);
    const engine = h.cp.app.get(RolloutEngine);
    await engine.pass();
    await engine.pass();
    const devices = (await call<Page<RolloutDeviceView>>('GET', `/api/v1/rollouts/${rollout.body.id}/devices?limit=10`, undefined)).body
      .items;
    expect(devices.find((d) => d.deviceId === joiner)).toMatchObject({ joined: true, state: 'failed', assignedRev: null });
    expect(devices.find((d) => d.deviceId === joiner)!.reason).toMatch(/bind mount "\/run\/flotilla" is not allowed on fleet "strict"/);
    expect((await call<DeviceView>('GET', `/api/v1/devices/${joiner}`, undefined)).body.desired.releaseId).toBeNull();
    expect((await call<DeviceView>('GET', `/api/v1/devices/${inside}`, undefined)).body.desired.releaseId).toBe(powered.id);
  });

  it("rolls a device back to its previous release only when its fleet's policy allows it now", async () => {
    const powered = (
      await call<ReleaseView>('POST', '/api/v1/releases', manifest('4.0.0', '    volumes: ["/run/flotilla:/run/flotilla"]\n'))
    ).body;
    const plain = (await call<ReleaseView>('POST', '/api/v1/releases', manifest('4.0.1'))).body;
    const before = (await call<FleetView>('POST', '/api/v1/fleets', { name: 'before' }, 'admin')).body;
    const after = (await call<FleetView>('POST', '/api/v1/fleets', { name: 'after' }, 'admin')).body;
    expect((await call('PUT', `/api/v1/fleets/${before.id}/host-policy`, { bindMounts: ['/run/flotilla'] }, 'admin')).status).toBe(200);
    const { deviceId } = await h.registerDevice('returner');
    expect((await call('PUT', `/api/v1/devices/${deviceId}/fleet`, { fleetId: before.id })).status).toBe(200);
    expect((await call('PUT', `/api/v1/devices/${deviceId}/release`, { releaseId: powered.id })).status).toBe(200);
    const rollout = (await call<RolloutView>('POST', '/api/v1/rollouts', { releaseId: plain.id, selection: { deviceIds: [deviceId] } }))
      .body;
    await h.cp.app.get(RolloutEngine).pass();
    const desired = async () => (await call<DeviceView>('GET', `/api/v1/devices/${deviceId}`, undefined)).body.desired.releaseId;
    expect(await desired()).toBe(plain.id);

    // It runs the plain release, so it may move; its previous release is not allowed where it went.
    expect((await call('PUT', `/api/v1/devices/${deviceId}/fleet`, { fleetId: after.id })).status).toBe(200);
    const rolledBack = await call<RolloutView>('POST', `/api/v1/rollouts/${rollout.id}/rollback`, undefined);
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.statusReason).toMatch(/could not re-target .*bind mount "\/run\/flotilla" is not allowed on fleet "after"/);
    expect(await desired()).toBe(plain.id);
  });
});
