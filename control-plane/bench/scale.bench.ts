import type { ReleaseView } from '@flotilla/shared';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { manifest } from '../src/testing/sim-fleet';
import { apiJson, createSimFleet, pool, provisionDevices, type SimCredential } from '../../cli/src/sim/simulation';
import { ControlPlaneProcess, numberFlags, procUsage, waitFor } from './support/control-plane-process';
import { LoadFleet } from './support/load-fleet';

/**
 * scale: how many connected devices one box holds (issue 15: 50,000), each holding its desired
 * state. One process may open at most `ulimit -n` (20,000 here, a hard limit nobody in the
 * container can raise) sockets, so the devices are spread over --replicas control planes on one
 * database (each its own embedded broker; a device stays on its replica) and over --processes
 * load-generator workers. The fleet has a target release before the devices register, so each
 * device's first `desired/get` brings it; "holding" = online with reported rev = desired rev and
 * the release active. Prints control-plane RSS per connected device (after - before the storm).
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 50_000, replicas: 3, processes: 4, concurrency: 1000 });
  console.log(machineLine());
  const primary = await ControlPlaneProcess.start();
  const cps = [primary];
  try {
    for (let i = 1; i < flags.replicas; i++) cps.push(await primary.replica());
    const { httpUrl, apiKey } = primary;
    const fleet = await createSimFleet(httpUrl, apiKey);
    const release = await apiJson<ReleaseView>(httpUrl, apiKey, '/api/v1/releases', {
      method: 'POST',
      body: manifest('1.0.0'),
      headers: { 'content-type': 'application/yaml' },
    });
    // A background job since the fleet target moved off the request (202).
    await apiJson(
      httpUrl,
      apiKey,
      `/api/v1/fleets/${fleet.id}/target`,
      { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) },
      [202],
    );

    console.log(`registering ${flags.devices} devices through ${cps.length} control planes…`);
    const t0 = performance.now();
    const perReplica = Math.ceil(flags.devices / cps.length);
    const shares = await pool(cps.length, cps.length, (i) =>
      provisionDevices({
        apiUrl: cps[i]!.httpUrl,
        apiKey,
        fleetId: fleet.id,
        count: Math.min(perReplica, flags.devices - i * perReplica),
        registerConcurrency: 8,
        namePrefix: `scale-${i}`,
      }),
    );
    const registerS = (performance.now() - t0) / 1000;
    // Each device connects to the control plane it registered with.
    const creds: SimCredential[] = shares.flatMap((share, i) => share.map((c) => ({ ...c, mqttUrl: cps[i]!.mqttUrl })));
    const rssBefore = cps.map((cp) => procUsage(cp.pid).rssMiB);

    const sim = await LoadFleet.start(creds, flags.processes);
    console.log(`connecting ${creds.length} devices from ${sim.pids.length} load processes…`);
    const t1 = performance.now();
    await sim.connect({ telemetryEverySeconds: 0, applySeconds: 0.5, connectConcurrency: flags.concurrency, realistic: false });
    const connectedS = (performance.now() - t1) / 1000;
    const holding = async (): Promise<number> =>
      (
        await primary.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM devices WHERE online AND fleet_id = $1 AND (reported->>'rev')::int = desired_rev
             AND reported->'update'->'active'->>'releaseId' = $2::text`,
          [fleet.id, release.id],
        )
      )[0]!.n;
    let held = 0;
    try {
      await waitFor(async () => (held = await holding()) >= creds.length, 600_000, 'every device holding its desired state', 1000);
    } catch (e) {
      console.log(`${(e as Error).message}: ${held}/${creds.length}`);
    }
    const holdingS = (performance.now() - t1) / 1000;
    // Settled: nothing in flight any more.
    await new Promise((r) => setTimeout(r, 5000));
    const rssAfter = cps.map((cp) => procUsage(cp.pid).rssMiB);
    const counts = await sim.counts();
    printTable(
      cps.map((_, i) => ({
        'control plane': i === 0 ? 'primary' : `replica ${i}`,
        devices: shares[i]!.length,
        'RSS before MiB': rssBefore[i]!.toFixed(0),
        'RSS connected MiB': rssAfter[i]!.toFixed(0),
        'KiB per device': (((rssAfter[i]! - rssBefore[i]!) * 1024) / shares[i]!.length).toFixed(1),
      })),
    );
    const growth = rssAfter.reduce((a, b) => a + b, 0) - rssBefore.reduce((a, b) => a + b, 0);
    printTable([
      {
        devices: creds.length,
        'register s': registerS,
        'all connected s': connectedS,
        'all holding desired s': holdingS,
        holding: `${held}/${creds.length}`,
        'cp RSS total MiB': rssAfter.reduce((a, b) => a + b, 0).toFixed(0),
        'cp KiB per device': ((growth * 1024) / creds.length).toFixed(1),
        'load gen RSS MiB': counts.rssMiB.toFixed(0),
        'connect retries': counts.connectFailures,
      },
    ]);
    await sim.stop();
  } finally {
    for (const cp of cps.reverse()) await cp.close();
  }
}

runBench(main);
