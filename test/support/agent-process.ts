import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';

export const AGENT_MAIN = join(__dirname, '..', '..', 'agent', 'dist', 'main.js');
/** The launcher that starts the agent's installed version and falls back (agent/src/self-update/launcher.ts). */
export const AGENT_LAUNCHER = join(__dirname, '..', '..', 'agent', 'dist', 'self-update', 'launcher.js');

/** The real agent, as its own Node.js process (built by `npm run build`), with its output kept for failures. */
export class AgentProcess {
  private readonly child: ChildProcess;
  private output = '';
  private exited: Promise<number | null>;
  /** `key=value` that the agent puts on, and requires of, every container, network and volume it manages. */
  readonly scopeLabel: string;

  /**
   * Each agent manages only containers with its own scope label unless `env` names one: an
   * unscoped agent owns every Flotilla container on the engine and removes those of other tests
   * (and they are left behind by a failed test for the next one to find).
   * `argv`: what node runs; the agent itself unless a test runs it under its launcher.
   */
  constructor(env: Record<string, string>, argv: readonly string[] = [AGENT_MAIN]) {
    const scoped = { FLOTILLA_SCOPE_LABEL: `io.flotilla.test-agent=${randomBytes(4).toString('hex')}`, ...env };
    this.scopeLabel = scoped.FLOTILLA_SCOPE_LABEL;
    this.child = spawn(process.execPath, argv, { env: { ...process.env, ...scoped }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /**
   * Writes `provisioning` where an image build would put it and starts the agent with its
   * state and its status file under `workDir`, so agents of several tests never share a path.
   */
  static provisioned(workDir: string, provisioning: object, env: Record<string, string> = {}, argv?: readonly string[]): AgentProcess {
    const path = join(workDir, 'provisioning.json');
    writeFileSync(path, JSON.stringify(provisioning));
    return new AgentProcess(
      {
        FLOTILLA_PROVISIONING: path,
        FLOTILLA_STATE_DIR: join(workDir, 'agent-state'),
        FLOTILLA_STATUS_DIR: join(workDir, 'agent-run'),
        FLOTILLA_TELEMETRY_INTERVAL_MS: '2000',
        // No boot spread: a test's agent is not one of a fleet powered on together.
        FLOTILLA_CONNECT_SPREAD_MS: '0',
        ...env,
      },
      argv,
    );
  }

  get logs(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL if it has not gone within `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * For `afterAll`: stops the agent, then removes the containers, networks and volumes of its
   * scope. `stop` alone leaves them, as a device keeps its assembly running while its agent
   * restarts; left behind on the shared engine, networks use up the engine's address pools
   * (about 30 bridges), after which every new assembly fails to create its network.
   */
  async dispose(graceMs?: number): Promise<void> {
    await this.stop(graceMs);
    await removeScoped(this.scopeLabel);
  }
}

/** Containers first: a network or volume still attached to one cannot be removed. */
async function removeScoped(scopeLabel: string): Promise<void> {
  // An agent told to run unscoped owns every Flotilla object on the engine: never remove those.
  if (scopeLabel === '') return;
  const docker = new Docker();
  const filters = { label: ['io.flotilla.managed=true', scopeLabel] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true });
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove();
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove();
}
