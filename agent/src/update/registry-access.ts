import { registryAuthExpired, registryAuthFor, type RegistryAuth } from '@flotilla/shared/device';
import type { Clock } from '../support/clock';
import { RegistryTokenExpiredError } from './errors';
import type { Slot } from './machine';

export interface RegistryAccessOptions {
  clock: Clock;
  /** Asks the control plane for the held desired state again, with fresh tokens (`desired/get` with `refresh`). */
  askRefresh: () => void;
  /** A token that expires sooner than this is not started with: a pull can take minutes. */
  marginMs?: number;
  /** At most one refresh request this often, however many pulls wait. */
  askEveryMs?: number;
}

/**
 * The registry access a slot's pulls use. Logins come with the slot's desired state and stay
 * valid; tokens expire (minutes), so a pull with an expired one is not tried: the agent asks
 * for fresh ones and the pull fails as transient, to be retried (FETCH retries with backoff,
 * upkeep runs again). The answer is the same rev with fresh tokens, kept here in memory only;
 * after a restart the agent simply asks again.
 */
export class RegistryAccess {
  private fresh: { rev: number; auth: readonly RegistryAuth[] } | undefined;
  private lastAsk = Number.NEGATIVE_INFINITY;
  private readonly marginMs: number;
  private readonly askEveryMs: number;

  constructor(private readonly options: RegistryAccessOptions) {
    this.marginMs = options.marginMs ?? 30_000;
    this.askEveryMs = options.askEveryMs ?? 10_000;
  }

  /** Fresh access for `rev`, from the control plane's answer to a refresh. */
  refreshed(rev: number, auth: readonly RegistryAuth[]): void {
    this.fresh = { rev, auth };
  }

  /** For a pull: throws `RegistryTokenExpiredError` (transient) after asking for fresh tokens when the token has run out. */
  forPull(ref: string, slot: Pick<Slot, 'rev' | 'registryAuth'>): RegistryAuth | undefined {
    const auth = registryAuthFor(ref, this.entries(slot));
    if (auth && registryAuthExpired(auth, this.options.clock.now(), this.marginMs)) {
      this.ask();
      throw new RegistryTokenExpiredError(auth.registry);
    }
    return auth;
  }

  /** For reading a manifest (best effort): an expired token is not sent, and fresh ones are asked for. */
  forRead(ref: string, slot: Pick<Slot, 'rev' | 'registryAuth'>): RegistryAuth | undefined {
    const auth = registryAuthFor(ref, this.entries(slot));
    if (auth && registryAuthExpired(auth, this.options.clock.now())) {
      this.ask();
      return undefined;
    }
    return auth;
  }

  private entries(slot: Pick<Slot, 'rev' | 'registryAuth'>): readonly RegistryAuth[] | undefined {
    return this.fresh?.rev === slot.rev ? this.fresh.auth : slot.registryAuth;
  }

  private ask(): void {
    const now = this.options.clock.now().getTime();
    if (now - this.lastAsk < this.askEveryMs) return;
    this.lastAsk = now;
    this.options.askRefresh();
  }
}
