import { readFile } from 'node:fs/promises';
import { isImageReference, type RegistryAuth } from '@flotilla/shared/device';
import { errorMessage } from '../support/errors';
import { assertBindSourcesReal } from './bind-sources';
import { toCreateOptions } from './container-config';
import { EngineClient } from './engine-client';
import { LogDemuxer, readJsonLines } from './engine-streams';
import type {
  ContainerHealth,
  ContainerRequest,
  ContainerRuntime,
  EngineInfo,
  ManagedContainer,
  ManagedResource,
  PullProgress,
} from './container-runtime';
import {
  type EngineContainer,
  type EngineNetwork,
  type EngineVolume,
  containerState,
  healthState,
  managedContainer,
  namespacePid,
  enginePlatform,
  statusCode,
} from './engine-answers';
import { EngineError, ForeignResourceError, InvalidImageReferenceError } from './errors';
import { pullError, pullQuery, registryAuthHeader } from './image-pull';
import { LABEL } from './labels';

/** Seconds the engine waits after SIGTERM before SIGKILL; with `Init: true` most components stop at once. */
const DEFAULT_STOP_TIMEOUT_S = 10;

export interface DockerRuntimeOptions {
  /**
   * Extra labels put on everything this runtime creates and required on everything it
   * lists. A device has one agent and needs none; tests that share one engine use them
   * so that one test's plan never removes another test's containers.
   */
  scopeLabels?: Record<string, string>;
  /** Where the host's "/" is seen from the agent (`FLOTILLA_HOST_ROOT`), for checking bind mounts' host paths. */
  hostRoot?: string;
}

/** `ContainerRuntime` over a Docker (or balenaEngine / Moby) daemon. The only code that talks to the engine. */
export class DockerRuntime implements ContainerRuntime {
  private readonly scope: Record<string, string>;
  private readonly managedFilter: { label: string[] };
  private readonly hostRoot: string;

  constructor(
    private readonly engine: EngineClient = EngineClient.fromEnv(),
    options: DockerRuntimeOptions = {},
  ) {
    this.scope = options.scopeLabels ?? {};
    this.hostRoot = options.hostRoot ?? '/';
    this.managedFilter = { label: [`${LABEL.managed}=true`, ...Object.entries(this.scope).map(([k, v]) => `${k}=${v}`)] };
  }

  async listContainers(): Promise<ManagedContainer[]> {
    const list = await this.call('list', 'containers', () =>
      this.engine.json<Array<{ Id: string }>>('GET', '/containers/json', { query: { all: true, filters: this.managedFilter } }),
    );
    const inspected = await Promise.all(list.map((c) => this.inspectManaged(c.Id)));
    return inspected.filter((c): c is ManagedContainer => c !== undefined);
  }

  async listNetworks(): Promise<ManagedResource[]> {
    const list = await this.call('list', 'networks', () =>
      this.engine.json<EngineNetwork[]>('GET', '/networks', { query: { filters: this.managedFilter } }),
    );
    return list.map((n) => ({ name: n.Name, labels: n.Labels ?? {} }));
  }

  async listVolumes(): Promise<ManagedResource[]> {
    const res = await this.call('list', 'volumes', () =>
      this.engine.json<{ Volumes?: EngineVolume[] | null }>('GET', '/volumes', { query: { filters: this.managedFilter } }),
    );
    return (res.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  }

  async ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    const existing = await this.call('list', 'networks', () =>
      this.engine.json<EngineNetwork[]>('GET', '/networks', { query: { filters: { name: [name] } } }),
    );
    // The name filter matches substrings, so compare exactly.
    const same = existing.find((n) => n.Name === name);
    if (same) return this.mustBeOurs('network', name, same.Labels);
    await this.call('create network', name, () =>
      this.engine.json('POST', '/networks/create', {
        body: { Name: name, Driver: 'bridge', Labels: { ...labels, ...this.scope }, CheckDuplicate: true },
      }),
    );
  }

  async removeNetwork(name: string): Promise<void> {
    await this.ignoring([404], 'remove network', name, () => this.engine.json('DELETE', `/networks/${name}`));
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    const found = await this.ignoring([404], 'inspect volume', name, () => this.engine.json<EngineVolume>('GET', `/volumes/${name}`));
    if (found) return this.mustBeOurs('volume', name, found.Labels);
    await this.call('create volume', name, () =>
      this.engine.json('POST', '/volumes/create', { body: { Name: name, Labels: { ...labels, ...this.scope } } }),
    );
  }

  private mustBeOurs(kind: 'network' | 'volume', name: string, labels: Record<string, string> | null | undefined): void {
    const ours = { [LABEL.managed]: 'true', ...this.scope };
    if (Object.entries(ours).some(([k, v]) => labels?.[k] !== v)) throw new ForeignResourceError(kind, name);
  }

  async hasImage(ref: string): Promise<boolean> {
    mustBeImageReference(ref);
    const found = await this.ignoring([404], 'inspect image', ref, () => this.engine.json<object>('GET', `/images/${ref}/json`));
    return found !== undefined;
  }

  async removeImage(ref: string): Promise<'removed' | 'in-use' | 'absent'> {
    mustBeImageReference(ref);
    try {
      await this.engine.json('DELETE', `/images/${ref}`);
      return 'removed';
    } catch (err) {
      if (statusCode(err) === 404) return 'absent';
      if (statusCode(err) === 409) return 'in-use';
      throw new EngineError('remove image', ref, errorMessage(err), err);
    }
  }

  async engineInfo(): Promise<EngineInfo> {
    const info = await this.call('read', 'engine info', () =>
      this.engine.json<{ Architecture?: string; OSType?: string; DockerRootDir?: string }>('GET', '/info'),
    );
    return { platform: enginePlatform(info.Architecture ?? '', info.OSType), dataRoot: info.DockerRootDir ?? '/var/lib/docker' };
  }

  async pullImage(ref: string, onProgress?: (progress: PullProgress) => void, auth?: RegistryAuth): Promise<void> {
    mustBeImageReference(ref);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.engine.stream('POST', '/images/create', {
        query: pullQuery(ref),
        ...(auth ? { headers: { 'x-registry-auth': registryAuthHeader(auth) } } : {}),
      });
    } catch (err) {
      throw pullError(ref, err, auth);
    }
    let failure: string | undefined;
    try {
      // The engine reports a failed pull as an `error` event inside a 200 response.
      await readJsonLines(stream, (event) => {
        const e = event as { status?: string; id?: string; error?: string; progressDetail?: { current?: number; total?: number } };
        if (e.error) failure = e.error;
        else if (e.status && onProgress) {
          onProgress({ status: e.status, id: e.id, current: e.progressDetail?.current, total: e.progressDetail?.total });
        }
      });
    } catch (err) {
      throw pullError(ref, new Error(failure ?? errorMessage(err)), auth);
    }
    if (failure !== undefined) throw pullError(ref, new Error(failure), auth);
  }

  async createAndStart(request: ContainerRequest): Promise<string> {
    await assertBindSourcesReal(request.spec, this.hostRoot);
    const { options, extraNetworks } = toCreateOptions({ ...request, labels: { ...request.labels, ...this.scope } });
    const { name, ...body } = options;
    const container = await this.call('create container', request.name, () =>
      this.engine.json<{ Id: string }>('POST', '/containers/create', { query: { name }, body }),
    );
    for (const network of extraNetworks) {
      await this.call('connect to network', `${request.name} → ${network}`, () =>
        this.engine.json('POST', `/networks/${network}/connect`, {
          body: { Container: container.Id, EndpointConfig: { Aliases: [request.spec.name] } },
        }),
      );
    }
    await this.call('start container', request.name, () => this.engine.json('POST', `/containers/${container.Id}/start`));
    return container.Id;
  }

  async stop(container: string, timeoutSeconds = DEFAULT_STOP_TIMEOUT_S): Promise<void> {
    // 304: already stopped; 404: already gone. Both are the state we wanted.
    await this.ignoring([304, 404], 'stop container', container, () =>
      this.engine.json('POST', `/containers/${container}/stop`, {
        query: { t: timeoutSeconds },
        // The engine answers once its grace period has run out and the container is killed.
        silenceLimitMs: this.engine.silenceLimitMs + timeoutSeconds * 1000,
      }),
    );
  }

  async remove(container: string): Promise<void> {
    await this.ignoring([404], 'remove container', container, () =>
      this.engine.json('DELETE', `/containers/${container}`, { query: { force: true } }),
    );
  }

  async restart(container: string): Promise<void> {
    await this.call('restart container', container, () => this.engine.json('POST', `/containers/${container}/restart`));
  }

  async inspectHealth(container: string): Promise<ContainerHealth> {
    const info = await this.ignoring([404], 'inspect container', container, () => this.inspect(container));
    if (!info) return { state: 'missing', health: 'none' };
    return { state: containerState(info.State.Status), health: healthState(info.State.Health?.Status) };
  }

  /**
   * The engine lists a container's processes by their host pid; each one's `NSpid` line in
   * /proc gives its pid inside the container. Null when /proc does not show them (the agent
   * runs in another pid namespace than the engine's containers).
   */
  async processIds(container: string): Promise<number[] | null> {
    const top = await this.ignoring([404, 409], 'list processes of', container, () =>
      this.engine.json<{ Titles: string[]; Processes: string[][] | null }>('GET', `/containers/${container}/top`),
    );
    if (!top) return [];
    const column = top.Titles.indexOf('PID');
    const pids: number[] = [];
    for (const row of top.Processes ?? []) {
      const status = await readFile(`/proc/${row[column]}/status`, 'utf8').catch(() => undefined);
      const pid = namespacePid(status);
      if (pid === undefined) return null;
      pids.push(pid);
    }
    return pids;
  }

  async logs(container: string, options: { tail?: number; followMs?: number } = {}): Promise<string> {
    const query = { stdout: true, stderr: true, follow: options.followMs !== undefined, tail: options.tail ?? 100, timestamps: true };
    // Logs of a container without a TTY come in 8-byte-header frames; the demuxer strips them.
    const demuxer = new LogDemuxer();
    if (options.followMs === undefined) {
      demuxer.push(await this.call('read logs of', container, () => this.engine.buffer('GET', `/containers/${container}/logs`, { query })));
      return demuxer.text();
    }
    const stream = await this.call('follow logs of', container, () =>
      // Bounded by followMs below; a quiet container is no hung engine.
      this.engine.stream('GET', `/containers/${container}/logs`, { query, silenceLimitMs: null }),
    );
    stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
    stream.on('error', () => undefined); // destroyed below when the time is up
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.followMs);
      stream.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    stream.destroy();
    return demuxer.text();
  }

  private inspect(id: string): Promise<EngineContainer> {
    return this.engine.json<EngineContainer>('GET', `/containers/${id}/json`);
  }

  private async inspectManaged(id: string): Promise<ManagedContainer | undefined> {
    // The container may be removed between list and inspect: then it is simply not there.
    const info = await this.ignoring([404], 'inspect container', id, () => this.inspect(id));
    if (!info) return undefined;
    return managedContainer(info);
  }

  private async call<T>(operation: string, target: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new EngineError(operation, target, errorMessage(err), err);
    }
  }

  private async ignoring<T>(statusCodes: number[], operation: string, target: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (statusCodes.includes(statusCode(err) ?? -1)) return undefined;
      throw new EngineError(operation, target, errorMessage(err), err);
    }
  }
}

/** An image reference goes into engine API paths as it is: only one in the engine's grammar may. */
function mustBeImageReference(ref: string): void {
  if (!isImageReference(ref)) throw new InvalidImageReferenceError(ref);
}
