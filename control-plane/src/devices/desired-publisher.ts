import type { Logger } from '@nestjs/common';
import type { Release } from '@flotilla/shared';
import type { DeviceBroker } from '../broker/device-broker';
import type { RegistriesService, RegistryAuthLookup } from '../registries/registries.service';
import type { ReleasesService } from '../releases/releases.service';
import type { DesiredContent } from '../signing/desired-sealer';
import type { SigningService } from '../signing/signing.service';
import { effectiveConfig } from './device-config';
import { desiredContent } from './device.mapper';
import type { DesiredState } from './device-record.repository';
import type { FanoutActivity } from './fanout-activity';

/**
 * Desired publishes in flight at once; a publish holds its place until its device's socket took it
 * (drained, for a device whose socket backed up), so the sockets' back-pressure paces the fan-out
 * and this bound only caps what waits in memory (~1.6 KB a message). Each publish waits out one or
 * two turns of the event loop in aedes, so this many are handed per turn, and a turn is long while
 * the devices' answers arrive: at 50 the fan-out was paced by the turns of a busy loop, not by the
 * sockets; 256 → 1,024 cut the control plane's CPU per message by ~20 % and a 10,000-device
 * fan-out by ~15 % (fewer turns for the same messages; control-plane/bench/rollout.bench.ts).
 * A device connected here gets its message on its own client, outside aedes' emitter
 * (AedesDeviceBroker); one that is not goes through the emitter, whose concurrency (100) then
 * queues the rest, uplink included, until it has taken them.
 */
export const PUBLISH_IN_FLIGHT = 1024;
/**
 * Devices sealed under one signature (one hash tree, desired-sealer.ts): the ed25519 signature,
 * ~100 µs, is shared by 64 devices, and each message carries a proof of 6 hashes (~290 bytes).
 * Small enough that the first publish waits for 64 statements only.
 */
const SEAL_BATCH = 64;

export interface DesiredPublisherDeps {
  releases: ReleasesService;
  registries: RegistriesService;
  signing: SigningService;
  broker: DeviceBroker;
  logger: Logger;
  activity: FanoutActivity;
}

/**
 * Fan-outs of desired states: each device's content is assembled (each distinct release read
 * once), sealed in batches under one signature, and published with at most `PUBLISH_IN_FLIGHT`
 * in flight. Failures are logged per device, never thrown: a device that misses its message asks
 * with `desired/get` when it reconnects.
 */
export class DesiredPublisher {
  constructor(private readonly deps: DesiredPublisherDeps) {}

  async publish(states: readonly DesiredState[]): Promise<void> {
    const fanout = this.fanout();
    void fanout.add(states);
    await fanout.end();
  }

  /**
   * One fan-out fed in parts (a rollout's segments, as each commits): one window and one pass over
   * the releases for all of them (none for those in `known`, read by the caller), so the sockets
   * are not left idle while a part's last publishes drain before the next part's first
   * (control-plane/bench/rollout.bench.ts).
   */
  fanout(known: readonly Release[] = []): DesiredFanout {
    const releases = new Map(known.map((release) => [release.id, Promise.resolve(release)]));
    const registryAuth = this.deps.registries.lookup();
    const sealer = this.deps.signing.desiredSealer();
    const window = new PublishWindow(PUBLISH_IN_FLIGHT);
    const ended = this.deps.activity.begin();
    return new DesiredFanout(
      async (batch, settled) => {
        const contents = await Promise.all(batch.map((state) => this.content(state, releases, registryAuth)));
        const ready: number[] = [];
        for (const [j, content] of contents.entries()) {
          // No content: not published (`content` logged why).
          if (content === undefined) settled(j);
          else ready.push(j);
        }
        if (ready.length === 0) return;
        const sealed = sealer.sealAll(ready.map((j) => contents[j]!));
        for (const [k, message] of sealed.entries()) {
          const j = ready[k]!;
          const state = batch[j]!;
          if (message instanceof Error) {
            this.notPublished(state, message);
            settled(j);
            continue;
          }
          await window.take();
          this.deps.broker
            .publishToDevice(state.deviceId, 'desired', message.bytes)
            .catch((e: Error) => this.notPublished(state, e))
            .finally(() => {
              window.give();
              settled(j);
            });
        }
      },
      () => window.drained(),
      ended,
    );
  }

  private async content(
    state: DesiredState,
    releases: Map<string, Promise<Release>>,
    registryAuth: RegistryAuthLookup,
  ): Promise<DesiredContent | undefined> {
    try {
      let release: Promise<Release> | null = null;
      if (state.desiredReleaseId) {
        release = releases.get(state.desiredReleaseId) ?? this.deps.releases.getForDelivery(state.desiredReleaseId);
        releases.set(state.desiredReleaseId, release);
      }
      const held = release ? await release : null;
      const config = effectiveConfig(state.fleetConfig, state.deviceConfig);
      return desiredContent(state.deviceId, state, held, config, await registryAuth(held, state));
    } catch (e) {
      this.notPublished(state, e as Error);
      return undefined;
    }
  }

  private notPublished(state: DesiredState, e: Error): void {
    this.deps.logger.warn(
      `device ${state.deviceId}: desired rev ${state.desiredRev} not published now (${e.message}); it will get it on desired/get`,
    );
  }
}

/**
 * The states of one fan-out, in the order added, handed `SEAL_BATCH` at a time to one publishing
 * loop (`batch`, which never throws, and calls `settled(j)` once its `j`-th state was handed to
 * the broker or given up on); `end` says no more come and resolves once `drained` did.
 */
export class DesiredFanout {
  private queue: DesiredState[] = [];
  private head = 0;
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;
  /** States added, and taken by the loop, so far: a state's index is its place among all added. */
  private added = 0;
  private taken = 0;
  /** Every state before this index is settled; those settled past it, out of order, wait in `settledAhead`. */
  private settledThrough = 0;
  private readonly settledAhead = new Set<number>();
  /** `add`s waiting for their states, in the order added (so by `through`). */
  private readonly waiting: { through: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(
    batch: (states: DesiredState[], settled: (j: number) => void) => Promise<void>,
    drained: () => Promise<void>,
    /** Called once the fan-out is over, drained or failed. */
    finished: () => void = () => undefined,
  ) {
    this.done = (async () => {
      for (;;) {
        if (this.head < this.queue.length) {
          const first = this.taken;
          const states = this.take();
          this.taken += states.length;
          await batch(states, (j) => this.settle(first + j));
        } else if (this.ended) break;
        else await new Promise<void>((resolve) => (this.wake = resolve));
      }
      await drained();
    })().finally(finished);
    // Its failure is `end`'s to report; until the caller gets there, it is no unhandled rejection.
    this.done.catch((e: Error) => {
      for (const w of this.waiting.splice(0)) w.reject(e);
    });
  }

  /**
   * Queues `states`; resolves once they, and every state added before them, were handed to the
   * broker or given up on (logged): what a caller recording its progress as a count may count.
   * A caller that does not wait for it may leave it.
   */
  add(states: readonly DesiredState[]): Promise<void> {
    if (this.ended) throw new Error('desired fan-out already ended');
    for (const state of states) this.queue.push(state);
    this.added += states.length;
    const through = this.added;
    this.woken();
    if (this.settledThrough >= through) return Promise.resolve();
    const handed = new Promise<void>((resolve, reject) => this.waiting.push({ through, resolve, reject }));
    handed.catch(() => undefined);
    return handed;
  }

  end(): Promise<void> {
    this.ended = true;
    this.woken();
    return this.done;
  }

  private settle(index: number): void {
    this.settledAhead.add(index);
    while (this.settledAhead.delete(this.settledThrough)) this.settledThrough++;
    while (this.waiting.length > 0 && this.waiting[0]!.through <= this.settledThrough) this.waiting.shift()!.resolve();
  }

  private take(): DesiredState[] {
    const batch = this.queue.slice(this.head, this.head + SEAL_BATCH);
    this.head += batch.length;
    if (this.head === this.queue.length) [this.queue, this.head] = [[], 0];
    return batch;
  }

  private woken(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** At most `size` publishes in flight; `take` waits for a place, `drained` for all to finish. */
class PublishWindow {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private idle: (() => void) | undefined;

  constructor(private readonly size: number) {}

  async take(): Promise<void> {
    while (this.inFlight >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
  }

  give(): void {
    this.inFlight--;
    this.waiting.shift()?.();
    if (this.inFlight === 0) this.idle?.();
  }

  drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => (this.idle = resolve));
  }
}
