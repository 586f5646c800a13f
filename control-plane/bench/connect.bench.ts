import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { connectDevices, createSimFleet, provisionDevices } from '../src/sim/simulation';
import { ControlPlaneProcess, numberFlags, UsageMeter, waitFor } from './support/control-plane-process';

/** connect: provision N devices through the API, then connect them all at once (a connect storm). */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, concurrency: 1000, hold: 10 });
  console.log(machineLine());
  const cp = await ControlPlaneProcess.start({ nodeArgs: (process.env.CP_NODE_ARGS ?? '').split(' ').filter(Boolean) });
  try {
    const idle = new UsageMeter(cp.pid).start().stop();
    const fleet = await createSimFleet(cp.httpUrl, cp.apiKey);
    const reg = new UsageMeter(cp.pid).start();
    const t0 = performance.now();
    const creds = await provisionDevices({
      apiUrl: cp.httpUrl,
      apiKey: cp.apiKey,
      fleetId: fleet.id,
      count: flags.devices,
      registerConcurrency: 16,
    });
    const registerS = (performance.now() - t0) / 1000;
    const regUsage = reg.stop();

    const conn = new UsageMeter(cp.pid).start();
    const gen = new UsageMeter(process.pid).start();
    const t1 = performance.now();
    const sim = await connectDevices(creds, {
      mqttUrl: cp.mqttUrl,
      telemetryEverySeconds: 0,
      connectConcurrency: flags.concurrency,
      realistic: false,
    });
    const connectS = (performance.now() - t1) / 1000;
    await waitFor(
      async () => (await cp.db.query<{ n: number }>('SELECT count(*)::int AS n FROM devices WHERE online'))[0]!.n === flags.devices,
      120_000,
      'every device online in the database',
      200,
    );
    const onlineS = (performance.now() - t1) / 1000;
    const connUsage = conn.stop();
    const genUsage = gen.stop();
    const held = new UsageMeter(cp.pid).start();
    await new Promise((r) => setTimeout(r, flags.hold * 1000));
    const heldUsage = held.stop();
    printTable([
      { phase: 'idle', devices: 0, seconds: '', 'per s': '', 'cp CPU s': '', 'cp CPU %': '', 'cp RSS MiB': idle.rssMiB.toFixed(0) },
      {
        phase: 'register (HTTP)',
        devices: flags.devices,
        seconds: registerS,
        'per s': flags.devices / registerS,
        'cp CPU s': regUsage.cpuSeconds,
        'cp CPU %': regUsage.cpuPercent,
        'cp RSS MiB': regUsage.peakRssMiB.toFixed(0),
      },
      {
        phase: `connect storm (MQTT CONNACK; ${sim.counts().connectFailures} refused + retried)`,
        devices: flags.devices,
        seconds: connectS,
        'per s': flags.devices / connectS,
        'cp CPU s': '',
        'cp CPU %': '',
        'cp RSS MiB': '',
      },
      {
        phase: 'connect storm (all online in DB)',
        devices: flags.devices,
        seconds: onlineS,
        'per s': flags.devices / onlineS,
        'cp CPU s': connUsage.cpuSeconds,
        'cp CPU %': connUsage.cpuPercent,
        'cp RSS MiB': connUsage.peakRssMiB.toFixed(0),
      },
      {
        phase: `held connected, ${flags.hold} s idle`,
        devices: sim.counts().connected,
        seconds: 10,
        'per s': '',
        'cp CPU s': heldUsage.cpuSeconds,
        'cp CPU %': heldUsage.cpuPercent,
        'cp RSS MiB': heldUsage.rssMiB.toFixed(0),
      },
    ]);
    console.log(
      `load generator (this process, ${flags.devices} MQTT clients): CPU ${genUsage.cpuPercent.toFixed(0)} % during the storm, RSS ${genUsage.rssMiB.toFixed(0)} MiB`,
    );
    await sim.stop();
  } finally {
    await cp.close();
  }
}

runBench(main);
