import type { ApiError, CreatedOperatorKey, DeviceView, FleetHostPolicyView, FleetView, ReleaseView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const image = `127.0.0.1:5000/flotilla/busybox@sha256:${'d'.repeat(64)}`;
const manifest = (version: string, capAdd: string[]) => `
name: powers
x-flotilla: { version: ${version} }
services:
  status:
    image: ${image}
    volumes: ["data:/data", "/run/flotilla:/run/flotilla:ro"]
    devices: ["/dev/i2c-1"]
    cap_add: ${JSON.stringify(capAdd)}
volumes: { data: {} }
`;

async function call<T>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: T }> {
  const res = await h.api(path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...(typeof body === 'string' ? { headers: { 'content-type': 'application/yaml' } } : {}),
    ...(key ? { headers: { authorization: `Bearer ${key}` }, auth: false } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const paths = (e: ApiError) => e.issues?.map((i) => i.path);

describe('host-level powers need an admin-set policy per fleet', () => {
  let release: ReleaseView;
  let fleet: FleetView;
  let deviceId: string;

  beforeAll(async () => {
    release = (await call<ReleaseView>('POST', '/api/v1/releases', manifest('1.0.0', ['NET_ADMIN']))).body;
    fleet = (await call<FleetView>('POST', '/api/v1/fleets', { name: 'sensors' })).body;
    deviceId = (await h.registerDevice('powered')).deviceId;
  });

  it('refuses a release with host powers on a device in no fleet, naming each field', async () => {
    const res = await call<ApiError>('PUT', `/api/v1/devices/${deviceId}/release`, { releaseId: release.id });
    expect([res.status, res.body.code]).toEqual([403, 'host_powers_not_allowed']);
    expect(paths(res.body)).toEqual(['services.status.volumes.1', 'services.status.devices.0', 'services.status.cap_add.0']);
    expect(res.body.issues![0]!.message).toMatch(/bind mount "\/run\/flotilla" is not allowed on device .* in no fleet/);
  });

  it('refuses it as a fleet target until an admin allows exactly those powers; an operator may not', async () => {
    const refused = await call<ApiError>('PUT', `/api/v1/fleets/${fleet.id}/target`, { releaseId: release.id });
    expect([refused.status, paths(refused.body)]).toEqual([
      403,
      ['services.status.volumes.1', 'services.status.devices.0', 'services.status.cap_add.0'],
    ]);
    expect(refused.body.issues![2]!.message).toBe(
      `capability "NET_ADMIN" is not allowed on fleet "sensors"; an admin allows it with PUT /api/v1/fleets/${fleet.id}/host-policy {"capabilities":["NET_ADMIN"]}`,
    );

    const operator = (await call<CreatedOperatorKey>('POST', '/api/v1/operators/keys', { name: 'ops', role: 'operator' })).body.key;
    const policy = { bindMounts: ['/run/flotilla'], devices: ['/dev/i2c-1'], capabilities: ['cap_net_admin'] };
    expect((await call('PUT', `/api/v1/fleets/${fleet.id}/host-policy`, policy, operator)).status).toBe(403);
    const set = await call<FleetHostPolicyView>('PUT', `/api/v1/fleets/${fleet.id}/host-policy`, policy);
    expect([set.status, set.body.policy]).toEqual([
      200,
      { bindMounts: ['/run/flotilla'], devices: ['/dev/i2c-1'], capabilities: ['NET_ADMIN'] },
    ]);
    expect((await call<FleetHostPolicyView>('GET', `/api/v1/fleets/${fleet.id}/host-policy`, undefined, operator)).body.policy).toEqual(
      set.body.policy,
    );

    expect((await call('PUT', `/api/v1/fleets/${fleet.id}/target`, { releaseId: release.id })).status).toBe(202);
    const moved = await call<DeviceView>('PUT', `/api/v1/devices/${deviceId}/fleet`, { fleetId: fleet.id });
    expect([moved.status, moved.body.desired.releaseId]).toEqual([200, release.id]);
  });

  it('refuses a rollout to the fleet of a release asking for more than its policy, at the field', async () => {
    const more = (await call<ReleaseView>('POST', '/api/v1/releases', manifest('2.0.0', ['NET_ADMIN', 'SYS_ADMIN']))).body;
    const res = await call<ApiError>('POST', '/api/v1/rollouts', { releaseId: more.id, selection: { fleetId: fleet.id } });
    expect([res.status, res.body.code, paths(res.body)]).toEqual([403, 'host_powers_not_allowed', ['services.status.cap_add.1']]);
    expect(res.body.issues![0]!.message).toMatch(/capability "SYS_ADMIN" is not allowed on fleet "sensors"/);
    // Pinning the device to it is refused the same way.
    expect((await call('PUT', `/api/v1/devices/${deviceId}/pin`, { releaseId: more.id })).status).toBe(403);
  });

  it('refuses a malformed policy with 400 at its field', async () => {
    const res = await call<ApiError>('PUT', `/api/v1/fleets/${fleet.id}/host-policy`, {
      bindMounts: ['relative/path'],
      devices: ['/dev/../etc'],
    });
    expect([res.status, paths(res.body)]).toEqual([400, ['bindMounts.0', 'devices.0']]);
  });
});
