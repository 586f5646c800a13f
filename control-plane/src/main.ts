import { hostname } from 'node:os';
import type { RunningControlPlane } from './bootstrap';
import { closeWaitingListeners, drainWaitingListeners, openWaitingListeners } from './broker/waiting-listeners';
import { loadConfig, type ControlPlaneConfig } from './config';
import { DEPENDENCIES_IN_TURNS, loadInTurns } from './load-in-turns';
import type { Simulation } from '@flotilla/cli/sim';

/** Grace period for an orderly stop before the process exits anyway. */
const STOP_TIMEOUT_MS = 15_000;

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfig();
  // Before the rest of the code is loaded and the database read (a second or more): devices that
  // reconnect meanwhile wait in line for the broker rather than being refused (waiting-listeners.ts).
  const waiting = await openWaitingListeners(config);
  let cp: RunningControlPlane;
  try {
    // The heaviest packages one at a time, those ports accepting what came between them (load-in-turns.ts).
    if (waiting) await loadInTurns(DEPENDENCIES_IN_TURNS, require, () => drainWaitingListeners(waiting));
    cp = await bootstrapCode().startControlPlane(config, waiting ? { waitingMqtt: waiting } : {});
  } catch (e) {
    await closeWaitingListeners(waiting);
    throw e;
  }
  printBanner(cp, config, (performance.now() - startedAt) / 1000);
  const demo = await startDemo(cp);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: stopping (broker, API, database)…`);
    setTimeout(() => {
      console.error(`still stopping after ${STOP_TIMEOUT_MS / 1000} s; exiting`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    (demo?.stop() ?? Promise.resolve())
      .then(() => cp.close())
      .then(
        () => {
          console.log('stopped');
          process.exitCode = 0;
        },
        (e: Error) => {
          console.error(`stop failed: ${e.stack ?? e.message}`);
          process.exitCode = 1;
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The control plane's code (Nest, TypeORM, every module): loaded once the MQTT ports wait, not before. */
function bootstrapCode(): typeof import('./bootstrap') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- on demand, see above
  return require('./bootstrap') as typeof import('./bootstrap');
}

/** `--demo` (200 devices) or FLOTILLA_DEMO_DEVICES=N: simulated devices beside the control plane, for a look around. */
async function startDemo(cp: RunningControlPlane): Promise<Simulation | undefined> {
  const devices = Number(process.env.FLOTILLA_DEMO_DEVICES ?? (process.argv.includes('--demo') ? 200 : 0));
  if (!Number.isInteger(devices) || devices <= 0) return undefined;
  const log = (line: string): void => console.log(`[demo] ${line}`);
  const { demoSimulation, runSimulation } = await loadSimulator();
  return runSimulation(demoSimulation({ apiUrl: cp.httpUrl, apiKey: cp.apiKey, mqttUrl: cp.mqttUrl }, devices, log));
}

/** The simulator is the CLI's (`flotilla sim`); a control plane installed without it has no demo. */
async function loadSimulator(): Promise<typeof import('@flotilla/cli/sim')> {
  try {
    return await import('@flotilla/cli/sim');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new Error(
      '--demo runs simulated devices from @flotilla/cli, which is not installed beside this control plane (npm install in the repository)',
      {
        cause: e,
      },
    );
  }
}

function printBanner(cp: RunningControlPlane, config: ControlPlaneConfig, seconds: number): void {
  const where = (host: string): string => (host === '0.0.0.0' || host === '::' ? ` (all interfaces; e.g. ${hostname()})` : '');
  const plain = where(config.plainHost ?? config.host) || ' (this machine only; FLOTILLA_PLAIN_HOST opens it)';
  const db =
    cp.database.kind === 'external'
      ? 'external (DATABASE_URL)'
      : `embedded PostgreSQL on 127.0.0.1:${cp.database.port}${cp.database.created ? ', created now' : ''}`;
  const key = !cp.apiKeyFile
    ? 'from FLOTILLA_API_KEY'
    : cp.apiKeyFile.generated
      ? `${cp.apiKey}\n               (generated now, shown only this once; kept in ${cp.apiKeyFile.path})`
      : `in ${cp.apiKeyFile.path}`;
  console.log(
    [
      `Flotilla control plane ready in ${seconds.toFixed(2)} s`,
      ...tlsLines(cp, where(config.host), config.tls?.source.kind === 'terminated', config.rabbitmq !== undefined),
      `  API (plain)  ${cp.httpUrl}/api/v1${plain}`,
      `  health       ${cp.httpUrl}/healthz`,
      // With an external broker, no MQTT listener is this process's: devices connect to the cluster.
      config.rabbitmq
        ? `  MQTT         RabbitMQ cluster (FLOTILLA_BROKER=rabbitmq): devices connect to ${config.rabbitmq.deviceMqttUrl}`
        : `  MQTT (plain) ${cp.mqttUrl}${plain}`,
      `  database     ${db}`,
      `  library      ${libraryLine(cp.seeded)}`,
      `  data dir     ${cp.dataDir}`,
      `  operator key ${key}`,
      `  use it as    Authorization: Bearer <operator key>`,
    ].join('\n'),
  );
}

function tlsLines(cp: RunningControlPlane, where: string, terminated: boolean, externalBroker: boolean): string[] {
  if (!cp.tls)
    return [
      terminated ? '  TLS          terminated by a proxy (FLOTILLA_TLS=terminated); devices use the public URLs' : '  TLS          off',
    ];
  const created = cp.tls.created.length ? ` (created now: ${cp.tls.created.join(', ')})` : '';
  return [
    `  API          ${cp.tls.httpsUrl}/api/v1${where}`,
    `  dashboard    ${cp.tls.httpsUrl}/`,
    ...(externalBroker ? [] : [`  MQTT         ${cp.tls.mqttsUrl}${where}, and over WebSocket ${cp.tls.mqttWssUrl}`]),
    `  TLS          server certificate SHA-256 ${cp.tls.fingerprint}`,
    `               CA for devices and browsers in ${cp.dataDir}/tls/ca.pem${created}`,
  ];
}

function libraryLine(seeded: RunningControlPlane['seeded']): string {
  const ok = seeded.filter((s) => s.status !== 'skipped').map((s) => s.component);
  const skipped = seeded.length - ok.length;
  if (seeded.length === 0) return 'no components to seed';
  return `${ok.length ? `components ${ok.join(', ')}` : 'no components seeded'}${skipped ? ` (${skipped} skipped: see the warnings above)` : ''}`;
}

main().catch((e: Error) => {
  console.error(`control plane failed to start: ${e.stack ?? e.message}`);
  process.exit(1);
});
