import { parseSimArgs, SimArgsError } from './sim-args';
import { runSimulation, type Simulation } from './simulation';

/**
 * `flotilla sim --devices N …` (or `node cli/dist/sim/main.js …`): a simulated fleet
 * against a running control plane, until Ctrl-C or `--duration`.
 */
export async function simMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const args = parseSimArgs([...argv], env);
  const { durationSeconds, ...options } = args;
  const log = (line: string): void => console.log(`[sim] ${line}`);
  const sim = await runSimulation({ ...options, log });
  log(`fleet ${sim.fleetId}: ${sim.devices.length} devices running; Ctrl-C stops them`);
  const status = setInterval(() => log(summary(sim)), 10_000);
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    clearInterval(status);
    log(`stopping: ${summary(sim)}`);
    void sim.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (durationSeconds > 0) setTimeout(stop, durationSeconds * 1000);
}

function summary(sim: Simulation): string {
  const c = sim.counts();
  return `${c.connected}/${c.devices} connected, ${c.desiredReceived} desired received, ${c.committed} committed, ${c.rolledBack} rolled back, ${c.telemetrySent} telemetry samples sent`;
}

if (require.main === module) {
  simMain(process.argv.slice(2), process.env).catch((e: Error) => {
    console.error(e instanceof SimArgsError ? e.message : `flotilla sim failed: ${e.stack ?? e.message}`);
    process.exit(e instanceof SimArgsError ? 2 : 1);
  });
}
