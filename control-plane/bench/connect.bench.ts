import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { connectDevices, createSimFleet, provisionDevices, type SimCredential } from '../src/sim/simulation';
import { ControlPlaneProcess, numberFlags, UsageMeter, waitFor } from './support/control-plane-process';

type Mode = 'plain' | 'password over TLS' | 'mutual TLS';

interface StormResult {
  mode: Mode;
  devices: number;
  registerS: number;
  registerCpuS: number;
  connackS: number;
  onlineS: number;
  cpuS: number;
  cpuPercent: number;
  peakRssMiB: number;
  retried: number;
  /** Devices online in the database when the storm ended (all of them, unless presence writes failed). */
  onlineCount: number;
  generatorCpuPercent: number;
  held?: { cpuPercent: number; rssMiB: number };
}

/**
 * connect: one control plane, three connect storms of N devices each, one after the other:
 * plain MQTT with passwords (the baseline), passwords over TLS, and mutual TLS (each device's
 * own certificate, from a CSR at registration). Each storm's devices are registered through
 * the API first, then all connect at once; the storm ends when every device is online in the
 * database. The devices of one storm disconnect before the next begins.
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, concurrency: 1000, hold: 0 });
  console.log(machineLine());
  const cp = await ControlPlaneProcess.start({ nodeArgs: (process.env.CP_NODE_ARGS ?? '').split(' ').filter(Boolean) });
  try {
    const idle = new UsageMeter(cp.pid).start().stop();
    console.log(`control plane idle: RSS ${idle.rssMiB.toFixed(0)} MiB`);
    const results: StormResult[] = [];
    for (const mode of ['plain', 'password over TLS', 'mutual TLS'] as const) results.push(await storm(cp, mode, flags));
    printTable(results.flatMap(rows));
    const [plain, password, mutual] = results as [StormResult, StormResult, StormResult];
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    printTable([
      ratios('password over TLS / plain', password, plain, ratio),
      ratios('mutual TLS / plain', mutual, plain, ratio),
      ratios('mutual TLS / password over TLS', mutual, password, ratio),
    ]);
  } finally {
    await cp.close();
  }
}

async function storm(
  cp: ControlPlaneProcess,
  mode: Mode,
  flags: { devices: number; concurrency: number; hold: number },
): Promise<StormResult> {
  console.log(`${mode}: registering ${flags.devices} devices…`);
  const fleet = await createSimFleet(cp.httpUrl, cp.apiKey, `connect-${mode.replace(/\W+/g, '-').toLowerCase()}-${Date.now()}`);
  const reg = new UsageMeter(cp.pid).start();
  const t0 = performance.now();
  const registered = await provisionDevices({
    apiUrl: cp.httpUrl,
    apiKey: cp.apiKey,
    fleetId: fleet.id,
    count: flags.devices,
    registerConcurrency: 16,
    certificates: mode === 'mutual TLS',
  });
  const registerS = (performance.now() - t0) / 1000;
  const regUsage = reg.stop();
  const creds = registered.map((c) => forMode(c, mode, cp));
  if (mode === 'mutual TLS' && creds.some((c) => c.password || !c.tls?.cert))
    throw new Error('mutual TLS devices must hold a certificate and no password');

  console.log(`${mode}: connect storm…`);
  const conn = new UsageMeter(cp.pid).start();
  const gen = new UsageMeter(process.pid).start();
  const t1 = performance.now();
  const sim = await connectDevices(creds, { telemetryEverySeconds: 0, connectConcurrency: flags.concurrency, realistic: false });
  const connackS = (performance.now() - t1) / 1000;
  // Every device has its CONNACK; the storm ends when the database says they are all online. On a
  // loaded machine a presence write can time out in the pool (logged by the control plane) and
  // leave a connected device offline in the table: the storm then ends at the deadline, with the count.
  const online = async () =>
    (await cp.db.query<{ n: number }>('SELECT count(*)::int AS n FROM devices WHERE online AND fleet_id = $1', [fleet.id]))[0]!.n;
  let onlineCount = 0;
  const connacked = performance.now();
  await waitFor(
    async () => (onlineCount = await online()) === flags.devices || performance.now() - connacked > 60_000,
    70_000,
    'the storm',
    200,
  );
  const onlineS = (performance.now() - t1) / 1000;
  const connUsage = conn.stop();
  const genUsage = gen.stop();
  let held: StormResult['held'];
  if (flags.hold > 0) {
    const meter = new UsageMeter(cp.pid).start();
    await new Promise((r) => setTimeout(r, flags.hold * 1000));
    const u = meter.stop();
    held = { cpuPercent: u.cpuPercent, rssMiB: u.rssMiB };
  }
  const retried = sim.counts().connectFailures;
  await sim.stop();
  // Before the next storm; a lost offline write only leaves a stale flag, so this waits a bounded time.
  await waitFor(async () => (await online()) === 0 || performance.now() - t1 > onlineS * 1000 + 60_000, 70_000, 'the disconnect', 200);
  return {
    mode,
    devices: flags.devices,
    registerS,
    registerCpuS: regUsage.cpuSeconds,
    connackS,
    onlineS,
    cpuS: connUsage.cpuSeconds,
    cpuPercent: connUsage.cpuPercent,
    peakRssMiB: connUsage.peakRssMiB,
    retried,
    onlineCount,
    generatorCpuPercent: genUsage.cpuPercent,
    ...(held ? { held } : {}),
  };
}

/** Plain: the loopback listener, no TLS. Password over TLS: the same devices' passwords on mqtts. Mutual TLS: certificate only. */
function forMode(c: SimCredential, mode: Mode, cp: ControlPlaneProcess): SimCredential {
  if (mode === 'plain') return { deviceId: c.deviceId, password: c.password!, mqttUrl: cp.mqttUrl };
  return { ...c, mqttUrl: cp.mqttsUrl };
}

function rows(r: StormResult): Array<Record<string, string | number>> {
  const base = { mode: r.mode };
  const out: Array<Record<string, string | number>> = [
    {
      ...base,
      phase: 'register (HTTP)',
      seconds: r.registerS,
      'cp CPU s': r.registerCpuS,
      'cp CPU ms/device': (1000 * r.registerCpuS) / r.devices,
      'cp CPU %': '',
      'cp RSS MiB': '',
      'load gen CPU %': '',
    },
    {
      ...base,
      phase: `storm: CONNACK (${r.retried} refused + retried)`,
      seconds: r.connackS,
      'cp CPU s': '',
      'cp CPU ms/device': '',
      'cp CPU %': '',
      'cp RSS MiB': '',
      'load gen CPU %': '',
    },
    {
      ...base,
      phase: r.onlineCount === r.devices ? 'storm: all online in DB' : `storm: ${r.onlineCount} online in DB 60 s after CONNACKs`,
      seconds: r.onlineS,
      'cp CPU s': r.cpuS,
      'cp CPU ms/device': (1000 * r.cpuS) / r.devices,
      'cp CPU %': r.cpuPercent,
      'cp RSS MiB': r.peakRssMiB.toFixed(0),
      'load gen CPU %': r.generatorCpuPercent,
    },
  ];
  if (r.held)
    out.push({
      ...base,
      phase: 'held connected, idle',
      seconds: '',
      'cp CPU s': '',
      'cp CPU ms/device': '',
      'cp CPU %': r.held.cpuPercent,
      'cp RSS MiB': r.held.rssMiB.toFixed(0),
      'load gen CPU %': '',
    });
  return out;
}

function ratios(label: string, a: StormResult, b: StormResult, ratio: (a: number, b: number) => string): Record<string, string> {
  return {
    comparison: label,
    register: ratio(a.registerS, b.registerS),
    'storm (all online)': ratio(a.onlineS, b.onlineS),
    'cp CPU during storm': ratio(a.cpuS, b.cpuS),
    'cp peak RSS': ratio(a.peakRssMiB, b.peakRssMiB),
  };
}

runBench(main);
