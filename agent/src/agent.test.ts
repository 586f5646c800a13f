import { minimalComponent } from '@flotilla/shared';
import type { Inventory } from '@flotilla/shared';
import { EventOutbox } from './link/outbox';
import { Agent } from './agent';
import { InMemoryRuntime } from './runtime/in-memory-runtime';
import { LABEL } from './runtime/labels';
import type { Clock } from './support/clock';
import { silentLogger } from './support/logger';
import { instantClock } from './support/test-clock';
import { signedDesired, testSigner } from './testing/releases';
import { INITIAL_STATE, type UpdateState } from './update/machine';
import { RecordingUplink } from './testing/recording-uplink';

const IMG_A = 'registry.local/app@sha256:' + 'a'.repeat(64);
const IMG_B = 'registry.local/app@sha256:' + 'b'.repeat(64);
const MISSING = 'registry.local/gone@sha256:' + 'f'.repeat(64);
const signer = testSigner();

/** The journal in memory; records every phase written, in order. */
class MemoryJournal {
  state: UpdateState = INITIAL_STATE;
  readonly phases: string[] = [];
  private readonly waiters: { phase: string; resolve: () => void }[] = [];
  async read() {
    return this.state;
  }
  async write(state: UpdateState) {
    this.state = state;
    this.phases.push(state.phase);
    for (const w of this.waiters.filter((x) => x.phase === state.phase)) w.resolve();
  }
  /** Resolves when the updater writes `phase`: the barrier a test waits on instead of polling a clock. */
  reached(phase: string): Promise<void> {
    if (this.state.phase === phase) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ phase, resolve }));
  }
}

/** Instant like `instantClock` until `hold()`; from then on every sleep lasts until its signal aborts, so time stands still. */
function holdingClock(): Clock & { hold(): void } {
  const instant = instantClock();
  let held = false;
  return {
    now: instant.now,
    sleep: (ms, signal) =>
      held
        ? new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve())))
        : instant.sleep(ms),
    hold: () => (held = true),
  };
}

class MemoryLedger {
  images: string[] = [];
  async read() {
    return this.images;
  }
  async add(images: readonly string[]) {
    this.images = [...new Set([...this.images, ...images])];
  }
  async write(images: readonly string[]) {
    this.images = [...images];
  }
}

/** The agent's outbox with its file in memory. */
function memoryOutbox(capacity: number): EventOutbox {
  let text: string | undefined;
  return new EventOutbox('state', capacity, { read: async () => text, write: async (t) => void (text = t) });
}

function setup(
  journal = new MemoryJournal(),
  runtime = new InMemoryRuntime(),
  overrides: {
    freeDisk?: number;
    board?: string;
    clock?: Clock;
    collectInventory?: () => Promise<Inventory>;
    inventoryIntervalMs?: number;
    timeZone?: string;
    outboxCapacity?: number;
  } = {},
) {
  const outbox = memoryOutbox(overrides.outboxCapacity ?? 500);
  runtime.registry.add(IMG_A);
  runtime.registry.add(IMG_B);
  const uplink = new RecordingUplink();
  const agent = new Agent({
    deviceId: 'dev_test',
    runtime,
    journal,
    ledger: new MemoryLedger(),
    clock: overrides.clock ?? instantClock(),
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: overrides.board,
    ...(overrides.timeZone ? { timeZone: overrides.timeZone } : {}),
    freeDiskBytes: async () => overrides.freeDisk ?? 10 * 1024 ** 3,
    imageFacts: async () => ({ sizeBytes: 1024 }),
    collectInventory:
      overrides.collectInventory ??
      (async () => {
        throw new Error('no inventory in unit tests');
      }),
    outbox,
    sampleTelemetry: async () => ({ at: '2026-11-27T12:00:00Z', cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 2 }),
    settings: { gatePollMs: 100, ...(overrides.inventoryIntervalMs ? { inventoryIntervalMs: overrides.inventoryIntervalMs } : {}) },
  });
  return { agent, uplink, runtime, journal, outbox };
}

let agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
});

async function started(s: ReturnType<typeof setup>) {
  agents.push(s.agent);
  await s.agent.start(s.uplink);
  await s.agent.updater.settled();
  return s;
}

const running = (runtime: InMemoryRuntime) =>
  [...runtime.containers.values()]
    .filter((c) => c.state === 'running')
    .map((c) => `${c.labels[LABEL.component]}:${c.image === IMG_A ? 'A' : c.image === IMG_B ? 'B' : '?'}`)
    .sort();

describe('Agent with the A/B updater (in-memory engine)', () => {
  it('walks verify → fetch → switch → probation → commit, journaling each phase before acting, and reports the slots', async () => {
    const { agent, uplink, runtime, journal, outbox } = await started(setup());
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A), minimalComponent('db', IMG_A)], { probationMs: 1_000 }));
    await agent.updater.settled();
    await outbox.settled();
    expect(journal.phases).toEqual(['verify', 'fetch', 'switch', 'probation', 'commit', 'idle']);
    expect(running(runtime)).toEqual(['db:A', 'web:A']);
    expect(journal.state).toMatchObject({ phase: 'idle', active: { rev: 1 }, candidate: null, failedRev: null });
    const events = uplink.of('events');
    expect(events.filter((e) => e.kind === 'update-phase').map((e) => e.phase)).toEqual([
      'verify',
      'fetch',
      'switch',
      'probation',
      'commit',
      'idle',
    ]);
    expect(events.filter((e) => e.kind === 'update-committed')).toHaveLength(1);
    const last = (await agent.reported()) as { update: unknown; rev: number };
    expect(last.rev).toBe(1);
    expect(last.update).toEqual({
      phase: 'idle',
      active: { rev: 1, releaseId: expect.any(String), version: '1.0.1' },
      candidate: null,
      failedRev: null,
      lastFailure: null,
    });
  });

  it('downloads at once but switches only inside a maintenance window, in the device time zone (simulated clock)', async () => {
    // Friday 4 December 2026, 12:00 UTC; windows on weekday nights, 02:00-04:00 in Berlin (UTC+1).
    const clock = instantClock(new Date('2026-12-04T12:00:00Z'));
    const { agent, uplink, runtime, outbox } = await started(setup(undefined, undefined, { clock, timeZone: 'Europe/Berlin' }));
    const windows = [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const, start: '02:00', durationMinutes: 120 }];
    agent.desire({
      ...signedDesired(signer, 1, [minimalComponent('web', IMG_A)]),
      updatePolicy: { windows: windows.map((w) => ({ ...w, days: [...w.days] })) },
    });
    await agent.updater.settled();
    await outbox.settled();
    const phases = uplink.events('update-phase').map((e) => [e.message, e.at]);
    const pulled = phases.find(([m]) => String(m).startsWith('fetch → switch'));
    // The switch came on Monday's window (Monday 02:00 Berlin = 01:00 UTC), not before, not after.
    expect(Date.parse(String(pulled?.[1]))).toBeGreaterThanOrEqual(Date.parse('2026-12-07T01:00:00Z'));
    expect(Date.parse(String(pulled?.[1]))).toBeLessThan(Date.parse('2026-12-07T03:00:00Z'));
    expect(phases.find(([m]) => String(m).startsWith('verify → fetch'))?.[1]).toBe('2026-12-04T12:00:00.000Z');
    expect(agent.updater.current.active?.rev).toBe(1);
    expect(running(runtime)).toHaveLength(1);
    // While it waited, it said so: what for, and when the window opens.
    expect(uplink.of('reported').map((r) => (r.update as { deferred?: unknown }).deferred)).toContainEqual({
      waitingFor: 'window',
      since: '2026-12-04T12:00:00.000Z',
      components: [],
      opensAt: '2026-12-07T01:00:00.000Z',
    });
  });

  it('refuses a release with a bad signature before anything stops, and does not try that rev again', async () => {
    const { agent, uplink, runtime, journal, outbox } = await started(setup());
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)]));
    await agent.updater.settled();
    const forged = signedDesired(signer, 2, [minimalComponent('web', IMG_B)]);
    forged.release!.assembly.components[0]!.environment.X = 'tampered';
    agent.desire(forged);
    await agent.updater.settled();
    expect(running(runtime)).toEqual(['web:A']);
    expect(journal.state).toMatchObject({ phase: 'idle', active: { rev: 1 }, failedRev: 2, lastFailure: expect.stringMatching(/digest/) });
    await outbox.settled();
    expect(uplink.of('events').find((e) => e.kind === 'update-refused')!.message).toMatch(/signature refused/);
    expect(runtime.calls.filter((c) => c.includes(IMG_B))).toEqual([]);
    agent.desire(forged);
    await agent.updater.settled();
    expect(agent.heldRev()).toBe(2);
  });

  it('refuses a release for another board, and one that does not fit on the disk', async () => {
    const s = await started(setup(undefined, undefined, { board: 'raspberrypi5', freeDisk: 100 * 1024 * 1024 }));
    s.agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)], { boards: ['raspberrypi4-64'] }));
    await s.agent.updater.settled();
    expect(s.journal.state.lastFailure).toMatch(/this device is a raspberrypi5/);
    s.agent.desire(signedDesired(signer, 2, [minimalComponent('web', IMG_A)], { boards: ['raspberrypi5'] }));
    await s.agent.updater.settled();
    expect(s.journal.state.lastFailure).toMatch(/not enough disk/);
    expect(s.runtime.calls.filter((c) => c.startsWith('pull'))).toEqual([]);
  });

  it('stays on the active slot when an image cannot be pulled', async () => {
    const { agent, runtime, journal } = await started(setup());
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)]));
    await agent.updater.settled();
    agent.desire(signedDesired(signer, 2, [minimalComponent('web', MISSING)]));
    await agent.updater.settled();
    expect(running(runtime)).toEqual(['web:A']);
    expect(journal.state).toMatchObject({
      phase: 'idle',
      active: { rev: 1 },
      failedRev: 2,
      lastFailure: expect.stringMatching(/not found/),
    });
  });

  it('rolls back to the old slot when the candidate turns unhealthy during probation', async () => {
    const { agent, uplink, runtime, journal, outbox } = await started(setup());
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)]));
    await agent.updater.settled();
    runtime.healthOf = (c) => (c === 'web' ? 'unhealthy' : undefined);
    agent.desire(
      signedDesired(signer, 2, [minimalComponent('web', IMG_B, { healthcheck: { test: ['CMD', 'false'] } })], { probationMs: 5_000 }),
    );
    await agent.updater.settled();
    expect(running(runtime)).toEqual(['web:A']);
    expect(journal.phases.slice(-3)).toEqual(['probation', 'rollback', 'idle']);
    expect(journal.state).toMatchObject({ active: { rev: 1 }, failedRev: 2, lastFailure: expect.stringMatching(/unhealthy/) });
    await outbox.settled();
    expect(uplink.of('events').some((e) => e.kind === 'update-rolled-back')).toBe(true);
  });

  it('rolls back after a restart found the journal in SWITCH or PROBATION', async () => {
    const first = await started(setup());
    first.agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)]));
    await first.agent.updater.settled();
    const candidate = signedDesired(signer, 2, [minimalComponent('web', IMG_B)]);
    first.journal.state = { ...first.journal.state, phase: 'probation', candidate };
    const second = await started(setup(first.journal, first.runtime));
    expect(second.journal.state).toMatchObject({ phase: 'idle', active: { rev: 1 }, failedRev: 2 });
    expect(second.journal.state.lastFailure).toMatch(/restarted during probation/);
    expect(running(second.runtime)).toEqual(['web:A']);
  });

  it('rolls back on the rollback command during probation, and refuses it when nothing is on trial', async () => {
    const clock = holdingClock();
    const { agent, runtime, journal } = await started(setup(undefined, undefined, { clock }));
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)]));
    await agent.updater.settled();
    const idle = await agent.command({ schema: 1, id: 'c1', name: 'rollback', args: {} }).catch((e: Error) => e.message);
    expect(idle).toMatch(/nothing to roll back/);
    // Time stands still, so the probation window cannot end by itself while the command is on its way.
    clock.hold();
    agent.desire(signedDesired(signer, 2, [minimalComponent('web', IMG_B)], { probationMs: 3_600_000 }));
    await journal.reached('probation');
    expect(agent.updater.current.phase).toBe('probation');
    await expect(agent.command({ schema: 1, id: 'c2', name: 'rollback', args: {} })).resolves.toMatchObject({ ok: true });
    await agent.updater.settled();
    expect(running(runtime)).toEqual(['web:A']);
    expect(agent.updater.current).toMatchObject({ phase: 'idle', failedRev: 2, lastFailure: expect.stringMatching(/rollback requested/) });
  });

  it('queues a newer desired state that arrives during probation and applies it after', async () => {
    const { agent, runtime, journal } = await started(setup());
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)], { probationMs: 2_000 }));
    for (let i = 0; i < 200 && agent.updater.current.phase !== 'probation'; i++) await new Promise((r) => setImmediate(r));
    agent.desire(signedDesired(signer, 2, [minimalComponent('web', IMG_B)]));
    await agent.updater.settled();
    expect(journal.state).toMatchObject({ phase: 'idle', active: { rev: 2 }, pending: null });
    expect(running(runtime)).toEqual(['web:B']);
  });

  it('collects the old slot images at commit and keeps those of the new one', async () => {
    const { agent, runtime } = await started(setup());
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)]));
    await agent.updater.settled();
    agent.desire(signedDesired(signer, 2, [minimalComponent('web', IMG_B)]));
    await agent.updater.settled();
    expect([...runtime.images]).toEqual([IMG_B]);
  });

  it('keeps events in the bounded outbox while offline and sends them, with the overflow count, on reconnect', async () => {
    const { agent, uplink, outbox } = await started(setup(undefined, undefined, { outboxCapacity: 3 }));
    uplink.connected = false;
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)]));
    await agent.updater.settled();
    await outbox.settled();
    expect(uplink.of('events')).toEqual([]);
    expect(outbox.events).toHaveLength(3);
    const kept = outbox.events.map((e) => e.id);
    uplink.connected = true;
    agent.onConnected();
    // The overflow count is kept on disk before it is sent, like any event.
    await outbox.settled();
    const sent = uplink.of('events');
    expect(sent.map((e) => e.kind)).toEqual(['update-phase', 'update-phase', 'update-committed', 'outbox-overflow']);
    expect(sent[3]!.message).toMatch(/^4 event\(s\) were dropped/);
    // Each event sent with the id it was given when it happened (a copy sent again is stored once), no two alike.
    expect(sent.slice(0, 3).map((e) => e.id)).toEqual(kept);
    expect(new Set(sent.map((e) => e.id)).size).toBe(4);
    for (const e of sent) expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('records each command as an event, and a component restart when the next report sees it', async () => {
    const { agent, uplink, outbox } = await started(setup());
    agent.desire(signedDesired(signer, 1, [minimalComponent('web', IMG_A)]));
    await agent.updater.settled();
    await agent.reportNow();
    await agent.command({ schema: 1, id: 'c9', name: 'restart-component', args: { component: 'web' } });
    await agent.reportNow();
    await outbox.settled();
    const events = uplink.of('events');
    expect(events.find((e) => e.kind === 'command')!.message).toBe('restart-component component=web (c9): ok');
    expect(events.filter((e) => e.kind === 'component-restarted').map((e) => e.message)).toEqual([
      'component "web" restarted (1 restart(s) in total)',
    ]);
  });

  it('sends the inventory after connecting, then again only when it changed', async () => {
    const inventory = (kernel: string, celsius: number): Inventory => ({
      schema: 1,
      at: '2026-11-27T12:00:00.000Z',
      hostname: 'pi',
      arch: 'arm64',
      board: { model: 'Raspberry Pi 5' },
      cpu: { manufacturer: 'ARM', brand: 'Cortex-A76', cores: 4 },
      memory: { totalBytes: 8e9 },
      os: { distro: 'Debian', release: '12', kernel },
      disks: [],
      network: [],
      temperatures: [{ zone: 'cpu', celsius }],
    });
    const readings = [inventory('6.6.51', 50), inventory('6.6.51', 61), inventory('6.6.62', 48)];
    let next = 0;
    // The inventory interval runs on Jest's fake timers (the unit project's default): each reading is one tick, not a wait.
    const s = await started(
      setup(undefined, undefined, {
        collectInventory: async () => readings[Math.min(next++, readings.length - 1)]!,
        inventoryIntervalMs: 40,
      }),
    );
    s.agent.onConnected();
    const kernels = () => s.uplink.of('inventory').map((i) => (i as Inventory).os.kernel);
    for (let tick = 0; tick < readings.length + 1; tick++) await jest.advanceTimersByTimeAsync(40);
    expect(next).toBeGreaterThanOrEqual(readings.length + 1);
    // The first after connecting, none for a new temperature, one for the new kernel.
    expect(kernels()).toEqual(['6.6.51', '6.6.62']);
  });
});
