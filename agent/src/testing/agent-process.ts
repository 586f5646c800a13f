import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReleaseKey, Reported } from '@flotilla/shared';
import { request } from '../cli/client';
import type { ControlRequest } from '../cli/protocol';

const ROOT = join(__dirname, '../../..');

/**
 * Test support: the real agent (`main.ts`) as a child process, so a test can SIGKILL it.
 * It runs from its sources through `ts-register.js`, with a stored credential (no
 * registration) and an MQTT address nobody listens on: desired states come through the
 * local control socket instead.
 */
export class AgentProcess {
  private child: ChildProcess | undefined;
  readonly lines: string[] = [];
  private waiters: { match: (line: Record<string, unknown>) => boolean; resolve: () => void }[] = [];

  constructor(
    readonly stateDir: string,
    private readonly env: Record<string, string>,
  ) {}

  static async prepare(stateDir: string, releaseKeys: ReleaseKey[]): Promise<void> {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const credential = {
      schema: 1,
      deviceId: 'crash-test-device',
      password: 'p'.repeat(32),
      apiUrl: 'http://127.0.0.1:9',
      mqttUrl: 'mqtt://127.0.0.1:9',
      releaseKeys,
    };
    await writeFile(join(stateDir, 'credential.json'), JSON.stringify(credential), { mode: 0o600 });
  }

  /**
   * Starts the agent and resolves once its control socket answers. `pauseAt` (`PHASE` or
   * `PHASE:after`) runs it through `pausing-main.ts`, which stops dead at that step.
   */
  async start(extraEnv: Record<string, string> = {}, pauseAt?: string): Promise<void> {
    const entry = pauseAt === undefined ? ['agent/src/main.ts'] : ['agent/src/testing/pausing-main.ts', pauseAt];
    const [script, ...args] = entry;
    const child = spawn(process.execPath, ['-r', join(ROOT, 'agent/src/testing/ts-register.js'), join(ROOT, script!), ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        FLOTILLA_STATE_DIR: this.stateDir,
        FLOTILLA_STATUS_DIR: join(this.stateDir, 'run'),
        FLOTILLA_PROVISIONING: join(this.stateDir, 'absent-provisioning.json'),
        FLOTILLA_CONNECT_SPREAD_MS: '0',
        ...this.env,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let rest = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) this.onLine(line);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.lines.push(`stderr: ${chunk}`));
    await this.waitForLog((l) => l.msg === 'running', 30_000);
  }

  /** Resolves at the first log line (JSON) that matches; rejects after `timeoutMs`. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`agent log line not seen within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async send(req: ControlRequest): Promise<unknown> {
    const reply = await request(this.stateDir, req, 30_000);
    if (!reply.ok) throw new Error(reply.error);
    return reply.result;
  }

  async status(): Promise<Reported> {
    return (await this.send({ op: 'status' })) as Reported;
  }

  /** SIGKILL: no handler runs, exactly as a power cut or the OOM killer. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  private onLine(text: string): void {
    this.lines.push(text);
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const waiter of [...this.waiters]) {
      if (!waiter.match(line)) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}
