import type { DeviceView, ReleaseView } from '@flotilla/shared';
import { startHarness, type Harness } from '../../../control-plane/src/testing/harness';
import { apiClient, json, publishRelease, startSimFleet, until, type Api } from '../../../control-plane/src/testing/sim-fleet';
import { KEPT_HISTORY } from './kept-history';
import type { SimDevice } from './sim-device';
import { createSimFleet, runSimulation, type SimulatedFleet, type Simulation } from './simulation';

jest.setTimeout(120_000);

let h: Harness;
let api: Api;
let release: ReleaseView;
const sims: Simulation[] = [];
const devices: SimDevice[] = [];

beforeAll(async () => {
  h = await startHarness();
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
  release = await publishRelease(api, '1.0.0');
});
afterAll(async () => {
  await Promise.all([...sims, ...devices].map((s) => s.stop()));
  await h?.close();
});

async function fleetViews(fleetId: string): Promise<DeviceView[]> {
  const rows = await h.db.query<{ id: string }>('SELECT id FROM devices WHERE fleet_id = $1', [fleetId]);
  return Promise.all(rows.map((r) => json<DeviceView>(api(`/api/v1/devices/${r.id}`), 200)));
}

describe('flotilla sim against a real control plane (PostgreSQL, broker over TCP)', () => {
  it('provisions 50 devices with a fleet token, they come online, send telemetry, receive a release and commit it', async () => {
    let early: SimulatedFleet | undefined;
    let connectedWhenGiven = -1;
    const sim = await runSimulation({
      apiUrl: h.cp.httpUrl,
      apiKey: h.cp.apiKey,
      devices: 50,
      telemetryEverySeconds: 1,
      applySeconds: 0.2,
      onFleet: (fleet) => {
        early = fleet;
        connectedWhenGiven = fleet.counts().connected;
      },
    });
    sims.push(sim);
    expect(sim.devices).toHaveLength(50);
    expect(sim.counts().connected).toBe(50);
    // Given before any device connected, and counting live: a long storm's progress is readable.
    expect(connectedWhenGiven).toBe(0);
    expect(early?.counts().connected).toBe(50);

    await until(async () => (await fleetViews(sim.fleetId)).filter((d) => d.online).length === 50, 20_000, '50 devices online');
    const withInventory = await h.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM devices WHERE fleet_id = $1 AND inventory IS NOT NULL',
      [sim.fleetId],
    );
    expect(withInventory[0]!.n).toBe(50);
    await until(
      async () => {
        const [row] = await h.db.query<{ n: number }>(
          'SELECT count(DISTINCT device_id)::int AS n FROM telemetry_samples t JOIN devices d ON d.id = t.device_id WHERE d.fleet_id = $1',
          [sim.fleetId],
        );
        return row!.n === 50;
      },
      20_000,
      'telemetry stored for every device',
    );

    await json(api(`/api/v1/fleets/${sim.fleetId}/target`, { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) }), 202);
    await until(async () => sim.counts().committed === 50, 20_000, 'every simulated device committed');
    await until(
      async () =>
        (await fleetViews(sim.fleetId)).every(
          (d) => d.reported?.update.active?.releaseId === release.id && d.reported.update.phase === 'idle',
        ),
      20_000,
      'commit reported by every device',
    );
  });

  it('with failure rate 1.0 every device rolls the release back and reports why', async () => {
    const fleet = await createSimFleet(h.cp.httpUrl, h.cp.apiKey, 'sim-failing');
    const sim = await runSimulation({
      apiUrl: h.cp.httpUrl,
      apiKey: h.cp.apiKey,
      fleetId: fleet.id,
      devices: 10,
      telemetryEverySeconds: 0,
      applySeconds: 0.2,
      failureRate: 1,
    });
    sims.push(sim);
    await json(api(`/api/v1/fleets/${fleet.id}/target`, { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) }), 202);
    await until(async () => sim.counts().rolledBack === 10, 20_000, 'every simulated device rolled back');
    const views = await until(
      async () => {
        const v = await fleetViews(fleet.id);
        return v.every((d) => d.reported?.update.failedRev !== null && d.reported?.update.phase === 'idle') ? v : undefined;
      },
      20_000,
      'rollback reported by every device',
    );
    for (const d of views) {
      expect(d.reported?.update.active).toBeNull();
      expect(d.reported?.update.lastFailure).toMatch(/probation: component "web" unhealthy/);
    }
    const [events] = await h.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM device_events e JOIN devices d ON d.id = e.device_id WHERE d.fleet_id = $1 AND e.kind = 'update-rolled-back'`,
      [fleet.id],
    );
    expect(events!.n).toBe(10);
  });

  it('a device keeps only its newest desired states, however many it is sent', async () => {
    const [device] = await startSimFleet(api, h.cp.mqttUrl, 1);
    devices.push(device!);
    let rev = 0;
    for (let i = 0; i < KEPT_HISTORY + 8; i++) {
      const view = await json<DeviceView>(
        api(`/api/v1/devices/${device!.deviceId}/config`, { method: 'PUT', body: JSON.stringify({ config: { ROUND: String(i) } }) }),
        200,
      );
      rev = view.desired.rev;
      await until(async () => device!.received.at(-1)?.rev === rev, 10_000, `desired rev ${rev} received`);
    }
    expect(device!.received).toHaveLength(KEPT_HISTORY);
    expect(device!.received.map((d) => d.rev)).toEqual(Array.from({ length: KEPT_HISTORY }, (_, i) => rev - KEPT_HISTORY + 1 + i));
  });
});
