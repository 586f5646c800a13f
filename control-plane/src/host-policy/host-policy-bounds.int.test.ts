import type { ApiError, CreatedOperatorKey, DeviceView, FleetView, ReleaseView } from '@flotilla/shared';
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
});
