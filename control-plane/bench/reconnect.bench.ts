import type { ReleaseView } from '@flotilla/shared';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { manifest } from '../src/testing/sim-fleet';
import { apiJson, createSimFleet, provisionDevices, type SimCredential } from '../../cli/src/sim/simulation';
import { BareAedes } from './support/bare-aedes';
import { ControlPlaneProcess, freePort, metrics, numberFlags, procUsage, waitFor } from './support/control-plane-process';
import { epochNow, LoadFleet } from './support/load-fleet';
import { DatabaseUsage, databaseUsageLine } from './support/database-usage';
import { connectsReached, listenOverflows, StormTimeline, timelineLines } from './support/storm-timeline';
import { nodeArgsFrom } from './support/node-args';

/**
 * reconnect: N devices connected and committed on a release; the control plane (with its
 * broker) stops (SIGTERM) and starts again. Time until every device is connected again, marked
 * online, and holds its desired state (reported rev = desired rev), and how many desired states
 * were sent again (0 is right: nothing changed). The baseline, in the same run: the same devices'
 * connect storm against aedes alone (no hooks, no database), through the same load generator
 * (--processes worker processes).
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, 'reconnect-ms': 2000, processes: 2 });
  console.log(machineLine());
  const cp = await ControlPlaneProcess.start({ nodeArgs: nodeArgsFrom('CP_NODE_ARGS') });
  try {
    const fleet = await createSimFleet(cp.httpUrl, cp.apiKey);
    const creds = await provisionDevices({
      apiUrl: cp.httpUrl,
      apiKey: cp.apiKey,
      fleetId: fleet.id,
      count: flags.devices,
      registerConcurrency: 16,
    });
    const bare = await bareStorm(creds, flags.processes);
    const bareS = bare.seconds;
    console.log(`bare aedes storm: ${flags.devices} connected in ${bareS.toFixed(2)} s, broker CPU ${bare.cpuSeconds.toFixed(2)} s`);
    const sim = await LoadFleet.start(creds, flags.processes);
    await sim.connect({
      mqttUrl: cp.mqttUrl,
      telemetryEverySeconds: 0,
      applySeconds: 0.5,
      connectConcurrency: 1000,
      reconnectPeriodMs: flags['reconnect-ms'],
      realistic: false,
    });
    const release = await apiJson<ReleaseView>(cp.httpUrl, cp.apiKey, '/api/v1/releases', {
      method: 'POST',
      body: manifest('1.0.0'),
      headers: { 'content-type': 'application/yaml' },
    });
    await apiJson(
      cp.httpUrl,
      cp.apiKey,
      `/api/v1/fleets/${fleet.id}/target`,
      {
        method: 'PUT',
        body: JSON.stringify({ releaseId: release.id }),
      },
      // A background job since the fleet target moved off the request (202).
      [202],
    );
    await waitFor(async () => (await sim.counts()).committed >= flags.devices, 300_000, 'every device committed before the restart', 250);
    const holding = async (): Promise<number> =>
      (
        await cp.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM devices WHERE online AND desired_release_id = $1 AND (reported->>'rev')::int = desired_rev
             AND reported->'update'->'active'->>'releaseId' = $1::text`,
          [release.id],
        )
      )[0]!.n;
    await waitFor(async () => (await holding()) >= flags.devices, 120_000, 'every device online and holding its desired state', 250);
    console.log(`${flags.devices} devices connected and committed on ${release.version}; restarting the control plane`);

    const desiredBefore = (await sim.counts()).desiredReceived;
    const online = async (): Promise<number> =>
      (await cp.db.query<{ n: number }>('SELECT count(*)::int AS n FROM devices WHERE online'))[0]!.n;
    const t0 = performance.now();
    const sigterm = epochNow();
    const overflows = listenOverflows();
    await cp.stop();
    const stopMs = performance.now() - t0;
    const startMs = await cp.launch();
    // From SIGTERM: connections up (timed by the devices); online and holding sampled from the
    // database from the new process on (it marked everyone offline before listening).
    const timeline = StormTimeline.start(async () => ({ online: await online(), holding: await holding() }), 250, sigterm);
    const database = await DatabaseUsage.start(cp.db);
    const connectedMs =
      (await waitFor(async () => (await sim.counts()).connected >= flags.devices, 300_000, 'every device connected again', 100)) +
      stopMs +
      startMs;
    console.log(`all ${flags.devices} connected again (MQTT) ${(connectedMs / 1000).toFixed(1)} s after SIGTERM`);
    // A presence write that fails under load leaves a connected device offline until it reconnects:
    // report how far it got instead of only timing out.
    const milestone = async (what: string, count: () => Promise<number>, after: number): Promise<number | string> => {
      try {
        const ms = (await waitFor(async () => (await count()) >= flags.devices, 60_000, what, 250)) + after;
        console.log(`${what}: ${(ms / 1000).toFixed(1)} s after SIGTERM`);
        return ms;
      } catch {
        const n = await count();
        console.log(`${what}: NOT reached; ${n}/${flags.devices} after a further 60 s`);
        return `${n}/${flags.devices} (not all)`;
      }
    };
    const t1 = performance.now() - t0;
    const onlineMs = await milestone('every device online (DB)', online, t1);
    const t2 = performance.now() - t0;
    const holdingMs = await milestone('every device online and holding its desired state (DB)', holding, t2);
    console.log(databaseUsageLine('new process, ready until all holding', await database.stop(), flags.devices));
    const connack = connectsReached((await sim.timings()).connects, sigterm, flags.devices);
    for (const line of timelineLines('from SIGTERM', { connack, ...(await timeline.stop(flags.devices)) })) console.log(line);
    console.log(`listen queue overflows from SIGTERM (machine-wide): ${listenOverflows() - overflows}`);
    const refusals = [...(await metrics(cp))].filter(([name]) => name.startsWith('flotilla_mqtt_logins_refused_total'));
    console.log(
      `logins refused by the new process: ${refusals.map(([name, n]) => `${name.replace(/^[^{]*/, '')} ${n}`).join(', ') || 'none'}`,
    );
    const usage = procUsage(cp.pid);
    const desiredAfterRestart = (await sim.counts()).desiredReceived - desiredBefore;
    printTable([
      {
        devices: flags.devices,
        'stop ms': stopMs,
        'start ms': startMs,
        'all connected ms': connectedMs,
        'all online (DB) ms': onlineMs,
        'all holding desired ms': holdingMs,
        'desired re-sent': desiredAfterRestart,
        'cp CPU s (new process)': usage.cpuSeconds,
        'cp RSS MiB': usage.rssMiB.toFixed(0),
      },
    ]);
    console.log(`times from SIGTERM; devices retry every ${flags['reconnect-ms']} ms (mqtt.js reconnectPeriod)`);
    // The new process serves the devices it held from before its "ready" line (broker/waiting-listeners.ts),
    // so its storm is timed from its MQTT port opening, and its CPU is the whole process' (start included).
    const openedMs = cp.mqttOpenMs;
    console.log(
      `the new process' MQTT port opened ${openedMs === undefined ? '(not seen)' : `${(openedMs / 1000).toFixed(2)} s`} after launch`,
    );
    if (typeof holdingMs === 'number') {
      const fromOpen = openedMs === undefined ? undefined : holdingMs - stopMs - openedMs;
      console.log(
        `ratio restart / bare aedes storm (${bareS.toFixed(2)} s): all holding desired ${(holdingMs / 1000 / bareS).toFixed(2)}x from SIGTERM (target <= 2x), ` +
          `${fromOpen === undefined ? '-' : (fromOpen / 1000 / bareS).toFixed(2)}x from its MQTT port opening; ` +
          `CPU of the new process, start included, ${usage.cpuSeconds.toFixed(2)} s vs bare aedes' storm ${bare.cpuSeconds.toFixed(2)} s (${(usage.cpuSeconds / bare.cpuSeconds).toFixed(2)}x)`,
      );
    }
    await sim.stop();
  } finally {
    await cp.close();
  }
}

/** The same devices connecting to aedes alone: the storm the restart is compared with. */
async function bareStorm(creds: readonly SimCredential[], processes: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const broker = await BareAedes.start(await freePort());
  try {
    const fleet = await LoadFleet.start(
      creds.map((c) => ({ deviceId: c.deviceId, password: c.password ?? 'unused', mqttUrl: broker.mqttUrl })),
      processes,
    );
    const cpu0 = procUsage(broker.pid).cpuSeconds;
    const t0 = performance.now();
    const since = epochNow();
    const overflows = listenOverflows();
    await fleet.connect({ telemetryEverySeconds: 0, connectConcurrency: 1000, realistic: false });
    const seconds = (performance.now() - t0) / 1000;
    const connack = connectsReached((await fleet.timings()).connects, since, creds.length);
    for (const line of timelineLines('bare aedes', { connack })) console.log(line);
    console.log(`bare aedes: listen queue overflows during the storm (machine-wide): ${listenOverflows() - overflows}`);
    const cpuSeconds = procUsage(broker.pid).cpuSeconds - cpu0;
    await fleet.stop();
    return { seconds, cpuSeconds };
  } finally {
    await broker.stop();
  }
}

runBench(main);
