import { toStorableText, type Desired, type UpdateDeferral, type UpdateLockStatus } from '@flotilla/shared/device';
import { LABEL } from '../../runtime/labels';
import type { ContainerRuntime } from '../../runtime/container-runtime';
import type { Clock } from '../../support/clock';
import type { Logger } from '../../support/logger';
import { judgeLock, switchClearance, type HolderFacts } from './clearance';
import type { UpdateLock } from './lock';
import type { LockServer } from './lock-server';
import type { LockStore } from './lock-store';

export interface UpdateLocksDeps {
  store: LockStore;
  runtime: Pick<ContainerRuntime, 'listContainers' | 'processIds'>;
  clock: Clock;
  logger: Logger;
  onEvent: (kind: 'update-lock-released' | 'update-lock-overridden', message: string) => void;
  /** How often a deferred switch looks at the locks again (a release through the socket wakes it at once). */
  pollMs?: number;
  /** The lock sockets, started for each component whose container gets its lock directory. */
  server?: Pick<LockServer, 'ensure'>;
}

/** Components of a slot that may hold update locks. */
export function lockingComponents(slot: Pick<Desired, 'release'> | null): string[] {
  return (slot?.release?.assembly.components ?? []).filter((c) => c.updateLock).map((c) => c.name);
}

/**
 * Between download and switch: waits while components of the running slot hold update locks,
 * releasing expired and stale ones (with an event) on the way, unless the desired state's policy
 * forces the switch or the fleet's longest deferral ran out.
 */
export class UpdateLocks {
  private wakeUp: (() => void) | undefined;

  constructor(private readonly deps: UpdateLocksDeps) {}

  /** Before a container with `updateLock` is created: its lock directory and socket, ready to be mounted. */
  async prepare(component: string): Promise<string> {
    const dir = await this.deps.store.ensureDir(component);
    await this.deps.server?.ensure(component);
    return dir;
  }

  /** A lock was taken or released: look again now. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Resolves when `candidate` may switch. `running` is the slot whose components hold the locks;
   * `onDeferral` is told when the wait begins, changes, and ends (undefined).
   */
  async awaitClearance(
    candidate: Desired,
    running: Pick<Desired, 'release'> | null,
    signal: AbortSignal,
    onDeferral: (deferral: UpdateDeferral | undefined) => void,
  ): Promise<void> {
    const components = lockingComponents(running);
    if (components.length === 0) return;
    let shown = '';
    try {
      while (!signal.aborted) {
        const now = this.deps.clock.now().getTime();
        const held = await this.held(components, now);
        const since = held.length > 0 ? await this.deps.store.waitingSince(candidate.rev, now) : now;
        const clearance = switchClearance(held, candidate.updatePolicy, since, now);
        if (clearance.kind === 'switch') return;
        if (clearance.kind === 'override') {
          const who = clearance.locks.map((l) => `${l.component} (${l.holder})`).join(', ');
          this.deps.onEvent('update-lock-overridden', `switching despite the update locks of ${who}: ${clearance.why}`);
          return;
        }
        const deferral: UpdateDeferral = {
          waitingFor: 'lock',
          since: new Date(since).toISOString(),
          components: [...new Set(clearance.locks.map((l) => l.component))],
          ...(clearance.until !== null ? { until: new Date(clearance.until).toISOString() } : {}),
        };
        if (JSON.stringify(deferral) !== shown) {
          shown = JSON.stringify(deferral);
          this.deps.logger.info('update waits for locks', { rev: candidate.rev, components: deferral.components });
          onDeferral(deferral);
        }
        await this.pause(signal);
      }
    } finally {
      if (shown) onDeferral(undefined);
    }
  }

  /** The locks held now by components that may hold them (for `reported.locks`); nothing is released here. */
  async list(components: readonly string[]): Promise<UpdateLockStatus[]> {
    const now = this.deps.clock.now().getTime();
    return (await this.deps.store.list(components)).filter((l) => l.expiresAt > now).map(toStatus);
  }

  /** The locks that still hold; expired and stale ones are removed, each with an event. */
  private async held(components: readonly string[], now: number): Promise<UpdateLock[]> {
    const locks = await this.deps.store.list(components);
    if (locks.length === 0) return [];
    const facts = await this.holderFacts(locks);
    const held: UpdateLock[] = [];
    for (const lock of locks) {
      const judged = judgeLock(lock, now, facts.get(lock.component));
      if (judged.verdict === 'held') {
        held.push(lock);
        continue;
      }
      if (!(await this.deps.store.release(lock))) {
        held.push(lock);
        continue;
      }
      const message = `released the ${lock.via} update lock of "${lock.component}" held by ${lock.holder}: ${judged.verdict}, ${judged.why}`;
      this.deps.logger.warn('update lock released', { component: lock.component, verdict: judged.verdict, why: judged.why });
      this.deps.onEvent('update-lock-released', message);
    }
    return held;
  }

  private async holderFacts(locks: readonly UpdateLock[]): Promise<Map<string, HolderFacts>> {
    const wanted = new Set(locks.filter((l) => l.pid !== undefined).map((l) => l.component));
    const facts = new Map<string, HolderFacts>();
    if (wanted.size === 0) return facts;
    for (const c of await this.deps.runtime.listContainers()) {
      const component = c.labels[LABEL.component];
      if (!component || !wanted.has(component) || c.state !== 'running') continue;
      facts.set(component, {
        startedAt: c.startedAt ? Date.parse(c.startedAt) : undefined,
        pids: await this.deps.runtime.processIds(c.id),
      });
    }
    return facts;
  }

  /** Until the next look: `pollMs`, or earlier when woken (a lock changed) or aborted. */
  private async pause(signal: AbortSignal): Promise<void> {
    const early = new AbortController();
    const stop = (): void => early.abort();
    this.wakeUp = stop;
    signal.addEventListener('abort', stop, { once: true });
    try {
      await this.deps.clock.sleep(this.deps.pollMs ?? 1_000, early.signal);
    } finally {
      this.wakeUp = undefined;
      signal.removeEventListener('abort', stop);
    }
  }
}

function toStatus(lock: UpdateLock): UpdateLockStatus {
  return {
    component: lock.component,
    // The holder's words come from a file the component wrote: only what a report may carry.
    holder: toStorableText(lock.holder, 128),
    via: lock.via,
    since: new Date(lock.since).toISOString(),
    expiresAt: new Date(lock.expiresAt).toISOString(),
    ...(lock.pid !== undefined ? { pid: lock.pid } : {}),
  };
}
