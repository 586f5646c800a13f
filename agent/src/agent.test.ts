import type { ChannelPayload, ComponentSpec, Desired, DeviceChannel } from '@flotilla/shared';
import { Agent, type Uplink } from './agent';
import { ImagePullError } from './runtime/errors';
import { InMemoryRuntime } from './runtime/in-memory-runtime';
import type { AppliedState } from './state/applied-store';
import { silentLogger } from './support/logger';
import { instantClock } from './support/test-clock';

const IMG = 'registry.local/app@sha256:' + 'a'.repeat(64);
const MISSING = 'registry.local/gone@sha256:' + 'f'.repeat(64);

function component(name: string, overrides: Partial<ComponentSpec> = {}): ComponentSpec {
  return {
    name,
    image: IMG,
    environment: {},
    ports: [],
    mounts: [],
    restart: 'unless-stopped',
    dependsOn: {},
    labels: {},
    devices: [],
    capAdd: [],
    networks: ['default'],
    update: 'download-then-switch',
    ...overrides,
  };
}

function desired(rev: number, components: ComponentSpec[] | null, config: Record<string, string> = {}): Desired {
  return {
    schema: 1,
    rev,
    config,
    release: components && {
      id: `11111111-1111-4111-8111-${String(rev).padStart(12, '0')}`,
      digest: 'sha256:' + 'c'.repeat(64),
      assembly: { name: 'origin', version: '1.0.0', probationMs: 0, components, volumes: [], networks: ['default'] },
    },
  };
}

class RecordingUplink implements Uplink {
  readonly sent: { channel: DeviceChannel; value: Record<string, unknown> }[] = [];
  publish<C extends DeviceChannel>(channel: C, value: ChannelPayload<C>): void {
    this.sent.push({ channel, value: value as Record<string, unknown> });
  }
  of(channel: DeviceChannel) {
    return this.sent.filter((s) => s.channel === channel).map((s) => s.value);
  }
}

class MemoryStore {
  readonly path = '/memory/applied.json';
  state: AppliedState | undefined;
  async load() {
    return this.state;
  }
  async save(state: AppliedState) {
    this.state = state;
  }
}

const inventory = {
  schema: 1 as const,
  at: '2026-11-27T12:00:00Z',
  hostname: 'h',
  arch: 'arm64',
  board: { model: 'm' },
  cpu: { manufacturer: 'ARM', brand: 'A72', cores: 4 },
  memory: { totalBytes: 1 },
  os: { distro: 'd', release: 'r', kernel: 'k' },
  disks: [],
  network: [],
  temperatures: [],
};

function setup(store = new MemoryStore(), runtime = new InMemoryRuntime(), settings = {}, clock = instantClock()) {
  runtime.registry.add(IMG);
  const uplink = new RecordingUplink();
  const agent = new Agent({
    runtime,
    store,
    clock,
    logger: silentLogger,
    collectInventory: async () => inventory,
    sampleTelemetry: async () => ({ at: '2026-11-27T12:00:00Z', cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 2 }),
    settings,
  });
  return { agent, uplink, runtime, store };
}

let agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
});

async function started(s: ReturnType<typeof setup>) {
  agents.push(s.agent);
  await s.agent.start(s.uplink);
  return s;
}

describe('Agent', () => {
  it('applies a desired state and reports applying, then running with every component', async () => {
    const { agent, uplink, runtime, store } = await started(setup());
    agent.desire(desired(1, [component('web'), component('db')]));
    await agent.settled();
    expect([...runtime.containers.keys()].sort()).toEqual(['flotilla_db', 'flotilla_web']);
    expect(uplink.of('events').map((e) => e.kind)).toEqual(['apply-started', 'component-started', 'component-started', 'apply-succeeded']);
    const reports = uplink.of('reported');
    expect(reports.map((r) => r.phase)).toEqual(['applying', 'running']);
    expect(reports[1]).toMatchObject({ rev: 1, releaseId: '11111111-1111-4111-8111-000000000001', agentVersion: expect.any(String) });
    expect((reports[1]!.components as { name: string; state: string }[]).map((c) => [c.name, c.state])).toEqual([
      ['db', 'running'],
      ['web', 'running'],
    ]);
    expect(store.state).toMatchObject({ outcome: 'applied', desired: { rev: 1 } });
    expect(agent.heldRev()).toBe(1);
  });

  it('ignores a desired state that is not newer than the one it holds', async () => {
    const { agent, uplink } = await started(setup());
    agent.desire(desired(2, [component('web')]));
    await agent.settled();
    const before = uplink.sent.length;
    agent.desire(desired(2, [component('other')]));
    agent.desire(desired(1, [component('other')]));
    await agent.settled();
    expect(uplink.sent.length).toBe(before);
  });

  it('reports a failed apply with the error and does not retry a terminal one', async () => {
    const { agent, uplink, store } = await started(setup());
    agent.desire(desired(3, [component('web', { image: MISSING })]));
    await agent.settled();
    expect(uplink.of('events').map((e) => e.kind)).toEqual(['apply-started', 'apply-failed']);
    expect(uplink.of('events')[1]!.message).toContain(MISSING);
    expect(uplink.of('reported').at(-1)).toMatchObject({ phase: 'failed', rev: 3, error: expect.stringContaining('not found') });
    expect(store.state).toMatchObject({ outcome: 'failed', terminal: true });
  });

  it('retries a transient failure once its backoff has passed', async () => {
    const clock = instantClock();
    const runtime = new InMemoryRuntime();
    const pull = runtime.pullImage.bind(runtime);
    let outages = 1;
    runtime.pullImage = async (ref) => {
      if (outages-- > 0) throw new ImagePullError(ref, 'connection refused');
      return pull(ref);
    };
    const { agent, uplink } = await started(setup(undefined, runtime, { reportIntervalMs: 5 }, clock));
    agent.desire(desired(1, [component('web')]));
    await agent.settled();
    expect(uplink.of('reported').at(-1)).toMatchObject({ phase: 'failed' });
    await new Promise((r) => setTimeout(r, 30));
    expect(runtime.containers.size).toBe(0);
    await clock.sleep(10_000);
    for (let i = 0; i < 100 && !runtime.containers.has('flotilla_web'); i++) await new Promise((r) => setTimeout(r, 5));
    await agent.settled();
    expect(uplink.of('reported').at(-1)).toMatchObject({ phase: 'running', rev: 1 });
  });

  it('moves on to a newer desired state after a failure', async () => {
    const { agent, uplink, runtime } = await started(setup());
    agent.desire(desired(3, [component('web', { image: MISSING })]));
    await agent.settled();
    agent.desire(desired(4, [component('web')]));
    await agent.settled();
    expect(runtime.containers.has('flotilla_web')).toBe(true);
    expect(uplink.of('reported').at(-1)).toMatchObject({ phase: 'running', rev: 4 });
    expect(uplink.of('reported').at(-1)).not.toHaveProperty('error');
  });

  it('removes everything for a desired state without a release', async () => {
    const { agent, runtime } = await started(setup());
    agent.desire(desired(1, [component('web')]));
    await agent.settled();
    agent.desire(desired(2, null));
    await agent.settled();
    expect(runtime.containers.size).toBe(0);
  });

  it('after a restart, converges quietly to what it held and keeps its rev', async () => {
    const first = await started(setup());
    first.agent.desire(desired(5, [component('web')]));
    await first.agent.settled();
    await first.agent.stop();
    first.runtime.containers.clear();

    const second = await started(setup(first.store, first.runtime));
    await second.agent.settled();
    expect(second.runtime.containers.has('flotilla_web')).toBe(true);
    expect(second.agent.heldRev()).toBe(5);
    expect(second.uplink.of('events').map((e) => e.kind)).toEqual(['component-started']);
  });

  it('publishes inventory at start and again on every connect, with a fresh report', async () => {
    const { agent, uplink } = await started(setup());
    await new Promise((r) => setImmediate(r));
    expect(uplink.of('inventory')).toHaveLength(1);
    agent.onConnected();
    await new Promise((r) => setImmediate(r));
    expect(uplink.of('inventory')).toHaveLength(2);
    expect(uplink.of('reported').at(-1)).toMatchObject({ phase: 'idle', rev: 0, releaseId: null, components: [] });
  });

  it('puts back a container removed by hand on its periodic check, without re-announcing the release', async () => {
    const { agent, uplink, runtime, store } = await started(setup(undefined, undefined, { reportIntervalMs: 5, reconcileIntervalMs: 0 }));
    agent.desire(desired(1, [component('web')]));
    await agent.settled();
    const saved = store.state;
    runtime.containers.clear();
    for (let i = 0; i < 100 && !runtime.containers.has('flotilla_web'); i++) await new Promise((r) => setTimeout(r, 5));
    await agent.settled();
    expect(runtime.containers.has('flotilla_web')).toBe(true);
    expect(uplink.of('events').map((e) => e.kind)).toEqual(['apply-started', 'component-started', 'apply-succeeded', 'component-started']);
    expect(store.state).toBe(saved);
  });

  it('publishes a telemetry sample on its interval', async () => {
    const { uplink } = await started(setup(undefined, undefined, { telemetryIntervalMs: 5 }));
    for (let i = 0; i < 100 && uplink.of('telemetry').length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(uplink.of('telemetry')[0]).toEqual({ schema: 1, samples: [expect.objectContaining({ cpuPercent: 1 })] });
  });

  it('runs commands against managed components only', async () => {
    const { agent, runtime } = await started(setup());
    agent.desire(desired(1, [component('web')]));
    await agent.settled();
    expect(await agent.command({ schema: 1, id: 'a', name: 'restart-component', args: { component: 'web' } })).toEqual({
      schema: 1,
      id: 'a',
      ok: true,
      output: 'restarted flotilla_web',
    });
    expect(runtime.containers.get('flotilla_web')!.restartCount).toBe(1);
    expect(await agent.command({ schema: 1, id: 'b', name: 'logs', args: { component: 'web' } })).toMatchObject({
      ok: true,
      output: 'logs of flotilla_web\n',
    });
    await expect(agent.command({ schema: 1, id: 'c', name: 'logs', args: { component: 'nope' } })).rejects.toThrow(/nope/);
  });
});
