import { hostname } from 'node:os';
import { startControlPlane, type RunningControlPlane } from './bootstrap';
import { loadConfig } from './config';

/** Grace period for an orderly stop before the process exits anyway. */
const STOP_TIMEOUT_MS = 15_000;

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfig();
  const cp = await startControlPlane(config);
  printBanner(cp, config.host, (performance.now() - startedAt) / 1000);

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
    cp.close().then(
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

function printBanner(cp: RunningControlPlane, host: string, seconds: number): void {
  const wildcard = host === '0.0.0.0' || host === '::';
  const where = wildcard ? ` (all interfaces; e.g. ${hostname()})` : '';
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
      `  API          ${cp.httpUrl}/api/v1${where}`,
      `  health       ${cp.httpUrl}/healthz`,
      `  dashboard    not built yet (will be served at ${cp.httpUrl}/)`,
      `  MQTT         ${cp.mqttUrl}${where}`,
      `  database     ${db}`,
      `  library      ${libraryLine(cp.seeded)}`,
      `  data dir     ${cp.dataDir}`,
      `  operator key ${key}`,
      `  use it as    Authorization: Bearer <operator key>`,
    ].join('\n'),
  );
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
