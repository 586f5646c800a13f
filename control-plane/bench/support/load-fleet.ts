import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { SimCredential, SimulationCounts } from '../../../cli/src/sim/simulation';
import type { DesiredPayload, FromWorker, Timings, ToWorker, WorkerOptions } from './load-worker';
import { nodeArgsFrom } from './node-args';

const ROOT = join(__dirname, '..', '..', '..');

/** Sub-millisecond time since the epoch: the same clock in every process of the machine (load-worker.ts `Timings`). */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Sockets one load process may hold: below the machine's hard `ulimit -n` (20,000), with room for the rest. */
export const DEVICES_PER_PROCESS_MAX = 18_000;

/**
 * The load generator split over several processes (issue 15): each runs its share of the
 * simulated devices (load-worker.ts), so the generator is neither one core nor one process'
 * file-descriptor limit. Each worker starts through `sh -c 'ulimit -n <hard>'`, so it gets every
 * descriptor the machine allows without anyone raising limits by hand.
 */
export class LoadFleet {
  private constructor(
    private readonly workers: ChildProcess[],
    private readonly shares: SimCredential[][],
  ) {}

  /**
   * Forks the workers (at least as many as the descriptor limit needs) and waits until each has
   * loaded its code, so that a storm timed with `connect` is the storm alone.
   */
  static async start(credentials: readonly SimCredential[], processes = 1): Promise<LoadFleet> {
    const n = Math.max(processes, Math.ceil(credentials.length / DEVICES_PER_PROCESS_MAX), 1);
    const shares = Array.from({ length: n }, (_, i) => credentials.filter((_, j) => j % n === i));
    return new LoadFleet(await Promise.all(shares.map(() => spawnWorker())), shares);
  }

  /**
   * Connects every device (each worker its share); resolves once all are connected. `keepDesired`:
   * each device keeps the last desired message it admitted, for `desiredPayloads`.
   */
  async connect(options: WorkerOptions, keepDesired = false): Promise<void> {
    // Concurrency is the whole generator's: split between the workers.
    const concurrency = Math.max(1, Math.ceil((options.connectConcurrency ?? 500) / this.workers.length));
    await Promise.all(
      this.workers.map((w, i) =>
        ask(
          w,
          { type: 'connect', credentials: this.shares[i]!, options: { ...options, connectConcurrency: concurrency }, keepDesired },
          'connected',
        ),
      ),
    );
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid!);
  }

  /** Summed over the workers, with the workers' total RSS. */
  async counts(): Promise<SimulationCounts & { rssMiB: number }> {
    const all = await Promise.all(this.workers.map((w) => ask(w, { type: 'counts' }, 'counts')));
    const sum = (f: (c: SimulationCounts) => number) => all.reduce((n, m) => n + f(m.counts), 0);
    return {
      devices: sum((c) => c.devices),
      connected: sum((c) => c.connected),
      desiredReceived: sum((c) => c.desiredReceived),
      committed: sum((c) => c.committed),
      rolledBack: sum((c) => c.rolledBack),
      telemetrySent: sum((c) => c.telemetrySent),
      telemetryAcked: sum((c) => c.telemetryAcked),
      connectFailures: sum((c) => c.connectFailures),
      disconnects: sum((c) => c.disconnects),
      rssMiB: all.reduce((n, m) => n + m.rssMiB, 0),
    };
  }

  /** Every worker's `Timings`, merged (times since the epoch, unsorted). */
  async timings(): Promise<Timings> {
    const all = await Promise.all(this.workers.map((w) => ask(w, { type: 'timings' }, 'timings')));
    return {
      received: all.flatMap((m) => m.timings.received),
      settled: all.flatMap((m) => m.timings.settled),
      desiredBytes: Math.max(0, ...all.map((m) => m.timings.desiredBytes)),
      connects: all.flatMap((m) => m.timings.connects),
    };
  }

  /** Each device's last desired message, as it arrived (devices connected with `keepDesired`), in the order they arrived. */
  async desiredPayloads(): Promise<DesiredPayload[]> {
    const all = await Promise.all(this.workers.map((w) => ask(w, { type: 'desired-payloads' }, 'desired-payloads')));
    return all.flatMap((m) => m.payloads).sort((a, b) => a.at - b.at);
  }

  /** Every device stops sending telemetry; resolves once all have (`counts().telemetrySent` is final). */
  async stopTelemetry(): Promise<void> {
    await Promise.all(this.workers.map((w) => ask(w, { type: 'stop-telemetry' }, 'telemetry-stopped')));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
        w.send({ type: 'stop' } satisfies ToWorker);
        await exited;
      }),
    );
  }
}

function spawnWorker(): Promise<ChildProcess> {
  const worker = join(__dirname, 'load-worker.ts');
  const child = fork(worker, [], {
    cwd: ROOT,
    execPath: '/bin/sh',
    // sh -c 'ulimit -n "$(ulimit -Hn)"; exec node … -r @swc-node/register load-worker.ts' — fork's IPC channel survives the exec.
    // LOAD_NODE_ARGS: node flags for the load processes, as CP_NODE_ARGS and BARE_NODE_ARGS (e.g. --cpu-prof).
    execArgv: [
      '-c',
      'ulimit -n "$(ulimit -Hn)" && exec "$@"',
      'sh',
      process.execPath,
      ...nodeArgsFrom('LOAD_NODE_ARGS'),
      '-r',
      '@swc-node/register',
    ],
    env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load worker exited (${code}) before it was ready`)));
    child.once('message', (m: FromWorker) => {
      child.removeAllListeners('exit');
      if (m.type === 'ready') resolve(child);
      else reject(new Error(`load worker: ${JSON.stringify(m)}`));
    });
  });
}

type Answer<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

function ask<T extends FromWorker['type']>(worker: ChildProcess, message: ToWorker, answer: T): Promise<Answer<T>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromWorker): void => {
      if (m.type === 'failed') {
        cleanup();
        reject(new Error(`load worker ${worker.pid}: ${m.message}`));
      } else if (m.type === answer) {
        cleanup();
        resolve(m as Answer<T>);
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`load worker ${worker.pid} exited (${code})`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    worker.send(message);
  });
}
