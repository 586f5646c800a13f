import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_PLANE_NODE_FLAGS } from '../../src/node-flags';
import { TLS_DIR } from '../../src/tls/tls-material';
import { createTestDatabase, type TestDatabase } from '../../src/testing/test-database';
import { freePort } from '../../../test/support/ports';

/** The tests' picker: outside the ephemeral range, where no outgoing connection takes a port between the pick and the bind. */
export { freePort };

const ROOT = join(__dirname, '..', '..', '..');
/**
 * Where the control plane runs from: this checkout, or another one named by BENCH_CP_ROOT (a
 * worktree of the commit before a change), so that before and after run in the same sitting
 * through the same benchmark.
 */
const CP_ROOT = process.env.BENCH_CP_ROOT ?? ROOT;
/**
 * BENCH_CP_DIST=1: the built control plane (`node control-plane/dist/main.js`, as the image runs
 * it; build CP_ROOT first with `npx tsc -b shared control-plane`) instead of the source through
 * SWC, whose compile at start is no part of a production restart.
 */
const cpEntry = (): string[] =>
  process.env.BENCH_CP_DIST === '1'
    ? [join(CP_ROOT, 'control-plane/dist/main.js')]
    : ['-r', '@swc-node/register', join(CP_ROOT, 'control-plane/src/main.ts')];
/**
 * The product's node flags (CONTROL_PLANE_NODE_FLAGS, as its image runs it) unless
 * BENCH_CP_NODE_FLAGS names others (empty for none), to measure a flag's effect in one sitting.
 */
const productFlags = (): string[] => (process.env.BENCH_CP_NODE_FLAGS ?? CONTROL_PLANE_NODE_FLAGS.join(' ')).split(' ').filter(Boolean);
const API_KEY = 'bench-operator-key-0123456789';
const CLK_TCK = 100;

export interface CpProcessOptions {
  /** Node flags for the control plane beside the product's (`productFlags`), e.g. --cpu-prof. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** The PostgreSQL server to make the scratch database on; default the tests' (fsync off). */
  databaseServerUrl?: string;
  /** A data directory prepared beforehand (e.g. its tls/ made for a broker cluster); removed on close as one made here. */
  dataDir?: string;
  /** Where the first launch's ports come from (and a retry's, when one was taken); default `freePorts`. */
  pickPorts?: () => Promise<CpPorts>;
}

export interface CpPorts {
  http: number;
  mqtt: number;
  https: number;
  mqtts: number;
}

/**
 * The control plane as a child process (as an operator runs it), on a scratch database of the
 * test PostgreSQL, so that its CPU and RSS are its own and a restart is a real one. It runs from
 * source through SWC, so a benchmark does not depend on a fresh build, unless BENCH_CP_DIST=1.
 */
export class ControlPlaneProcess {
  readonly apiKey = API_KEY;
  child: ChildProcess | undefined;
  httpUrl = '';
  mqttUrl = '';
  /** MQTT over TLS (the default listener devices are given). */
  mqttsUrl = '';
  /**
   * From the last launch until its plain MQTT port took a TCP connection: the port `main.ts` opens
   * before the rest starts (undefined when it had not by "ready", e.g. with an external broker).
   */
  mqttOpenMs: number | undefined;
  private constructor(
    readonly db: TestDatabase,
    private readonly dataDir: string,
    private ports: CpPorts,
    private readonly options: CpProcessOptions,
    /** A replica shares its primary's database and data directory, and leaves both to it on close. */
    private readonly owned = true,
  ) {}

  static async start(options: CpProcessOptions = {}): Promise<ControlPlaneProcess> {
    const db = await createTestDatabase(options.databaseServerUrl);
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'flotilla-bench-')));
    const cp = new ControlPlaneProcess(db, dataDir, await (options.pickPorts ?? freePorts)(), options);
    try {
      await cp.firstLaunch();
    } catch (error) {
      await cp.close();
      throw error;
    }
    return cp;
  }

  /**
   * Another control plane on the same database and data directory (its keys: every replica signs
   * desired states with the same release key), on ports of its own; `env` adds to or replaces the primary's.
   */
  async replica(env: Record<string, string> = {}): Promise<ControlPlaneProcess> {
    const options = { ...this.options, env: { ...this.options.env, ...env } };
    const cp = new ControlPlaneProcess(this.db, this.dataDir, await (options.pickPorts ?? freePorts)(), options, false);
    await cp.firstLaunch();
    return cp;
  }

  /**
   * The first launch, on fresh ports again if one was taken: `freePort` closes its probe before the
   * child binds, and in between any process on the box (an outgoing connection's ephemeral port
   * included) may take it. Later launches (restarts) keep their ports: devices reconnect to them.
   */
  private async firstLaunch(attempts = 5): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launch();
        return;
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= attempts) throw error;
        process.stderr.write(`[cp] ${error.message}; launching again on other ports\n`);
        this.ports = await (this.options.pickPorts ?? freePorts)();
      }
    }
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** Its TLS identity (`server.pem`/`.key`, `device-ca.pem`: control-plane/src/tls/tls-material.ts), made at its first start. */
  get tlsDir(): string {
    return join(this.dataDir, TLS_DIR);
  }

  /** Starts the process and resolves once it printed its banner; returns the time it took. */
  async launch(): Promise<number> {
    const t0 = performance.now();
    // Through sh, to raise the descriptor limit to the hard limit first (one per connected device).
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        'ulimit -n "$(ulimit -Hn)" && exec "$@"',
        'sh',
        process.execPath,
        ...productFlags(),
        ...(this.options.nodeArgs ?? []),
        ...cpEntry(),
      ],
      {
        cwd: CP_ROOT,
        env: {
          ...process.env,
          SWC_NODE_PROJECT: join(CP_ROOT, 'tsconfig.json'),
          HOST: '127.0.0.1',
          PORT: String(this.ports.http),
          MQTT_PORT: String(this.ports.mqtt),
          HTTPS_PORT: String(this.ports.https),
          MQTTS_PORT: String(this.ports.mqtts),
          DATABASE_URL: this.db.url,
          FLOTILLA_API_KEY: API_KEY,
          FLOTILLA_DATA_DIR: this.dataDir,
          // The simulated fleet connects from one address, as no real fleet does.
          FLOTILLA_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
          ...this.options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    const probe = openedAfter(this.ports.mqtt, t0);
    let out = '';
    // Kept until it is ready: a start that failed on a taken port is retried, and its error is no news.
    let err = '';
    let ready = false;
    child.stderr!.on('data', (d: Buffer) => {
      if (ready) process.stderr.write(`[cp] ${d.toString()}`);
      else err += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => {
        void probe.stop();
        const taken = /listen EADDRINUSE: address already in use [\d.]+:(\d+)/.exec(out + err);
        if (taken) reject(new PortTakenError(Number(taken[1])));
        else reject(new Error(`control plane exited (${code}) before it was ready:\n${out}${err}`));
      });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Flotilla control plane ready')) resolve();
      });
    });
    child.removeAllListeners('exit');
    ready = true;
    if (err) process.stderr.write(`[cp] ${err}`);
    this.mqttOpenMs = await probe.stop();
    this.httpUrl = `http://127.0.0.1:${this.ports.http}`;
    this.mqttUrl = `mqtt://127.0.0.1:${this.ports.mqtt}`;
    this.mqttsUrl = `mqtts://127.0.0.1:${this.ports.mqtts}`;
    return performance.now() - t0;
  }

  /** SIGTERM (an orderly stop: broker, API, pool) and wait for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    if (!this.owned) return;
    await this.db.drop().catch(() => undefined);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The control plane exited at start because another process held one of its ports. */
export class PortTakenError extends Error {
  constructor(readonly port: number) {
    super(`control plane could not listen on 127.0.0.1:${port}: another process holds it`);
  }
}

/** CPU seconds (user + system) and RSS of a process, from /proc. */
export function procUsage(pid: number): { cpuSeconds: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds, rssMiB: rssKiB / 1024 };
}

/** Samples a process' RSS every 500 ms to keep its peak; `cpu()` is CPU % (of one core) since `start`. */
export class UsageMeter {
  private startCpu = 0;
  private startAt = 0;
  peakRssMiB = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly pid: number) {}
  start(): this {
    const u = procUsage(this.pid);
    this.startCpu = u.cpuSeconds;
    this.startAt = performance.now();
    this.peakRssMiB = u.rssMiB;
    this.timer = setInterval(() => {
      try {
        this.peakRssMiB = Math.max(this.peakRssMiB, procUsage(this.pid).rssMiB);
      } catch {
        // the process is gone (a restart); the next meter takes over
      }
    }, 500);
    return this;
  }
  stop(): { cpuSeconds: number; cpuPercent: number; rssMiB: number; peakRssMiB: number } {
    clearInterval(this.timer);
    const u = procUsage(this.pid);
    const cpuSeconds = u.cpuSeconds - this.startCpu;
    const wall = (performance.now() - this.startAt) / 1000;
    return { cpuSeconds, cpuPercent: (100 * cpuSeconds) / wall, rssMiB: u.rssMiB, peakRssMiB: Math.max(this.peakRssMiB, u.rssMiB) };
  }
}

/** Tries a TCP connect to `port` every 20 ms; `stop` ends it and gives the time (from `t0`) of the first that succeeded. */
function openedAfter(port: number, t0: number): { stop(): Promise<number | undefined> } {
  let openedAt: number | undefined;
  let stopped = false;
  const attempt = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true)).once('error', () => done(false));
    });
  const run = (async () => {
    while (!stopped && openedAt === undefined) {
      if (await attempt()) openedAt = performance.now() - t0;
      else await sleep(20);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await run;
      return openedAt;
    },
  };
}

export async function freePorts(): Promise<CpPorts> {
  return { http: await freePort(), mqtt: await freePort(), https: await freePort(), mqtts: await freePort() };
}

/** `--name value` flags with numeric defaults. */
export function numberFlags<T extends Record<string, number>>(argv: readonly string[], defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, '');
    if (!(name in defaults))
      throw new Error(
        `unknown option ${argv[i]}; options: ${Object.keys(defaults)
          .map((k) => `--${k}`)
          .join(' ')}`,
      );
    const value = Number(argv[++i]);
    if (!Number.isFinite(value)) throw new Error(`${argv[i - 1]} needs a number`);
    out[name] = value;
  }
  return out as T;
}

export async function waitFor(probe: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 100): Promise<number> {
  const t0 = performance.now();
  while (!(await probe())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what} not reached within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return performance.now() - t0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Reads counters from the control plane's Prometheus `/metrics`, as `name{labels}` → value. */
export async function metrics(cp: { httpUrl: string; apiKey: string }): Promise<Map<string, number>> {
  const res = await fetch(`${cp.httpUrl}/metrics`, { headers: { authorization: `Bearer ${cp.apiKey}` } });
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.eE+-]+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
