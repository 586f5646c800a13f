import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ChildMessage } from './control-plane-child';
import { metricValue } from './metrics';

const ROOT = join(__dirname, '..', '..', '..');

/** One control-plane replica in a process of its own (so it can be SIGKILLed), configured by its environment as `npm start` is. */
export interface ReplicaProcess {
  name: string;
  pid: number;
  httpUrl: string;
  mqttUrl: string;
  api(path: string, init?: RequestInit): Promise<Response>;
  /** The sum of `name`'s samples on this replica's /metrics that carry `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** The process is gone, as after a crash: no orderly stop, no lease handed over. */
  kill(): Promise<void>;
  /** An orderly stop (idempotent; nothing when already gone). */
  stop(): Promise<void>;
}

export async function startReplica(name: string, env: Record<string, string>): Promise<ReplicaProcess> {
  const child: ChildProcess = fork(join(__dirname, 'control-plane-child.ts'), [], {
    cwd: ROOT,
    execArgv: ['--expose-gc', '-r', '@swc-node/register'],
    env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), HOST: '127.0.0.1', PORT: '0', MQTT_PORT: '0', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ httpUrl: string; mqttUrl: string; apiKey: string }>((resolve, reject) => {
    child.on('message', (m: ChildMessage) => 'ready' in m && resolve(m.ready));
    void exited.then(() => reject(new Error(`replica ${name} exited before it was ready`)));
  });
  const api = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${ready.apiKey}`);
    if (typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${ready.httpUrl}${path}`, { ...init, headers });
  };
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    name,
    pid: child.pid!,
    httpUrl: ready.httpUrl,
    mqttUrl: ready.mqttUrl,
    api,
    metric: async (metric, labels = {}) => metricValue(await (await api('/metrics')).text(), metric, labels),
    async kill() {
      if (!gone()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!gone()) child.send('stop');
      await exited;
    },
  };
}
