import type { RegistryAuth } from '@flotilla/shared/device';
import { Reconciler } from '../../reconcile/reconciler';
import { targetFromDesired } from '../../reconcile/target';
import type { ContainerRuntime } from '../../runtime/container-runtime';
import type { Clock } from '../../support/clock';
import type { Logger } from '../../support/logger';
import type { ImageLedger } from '../image-ledger';
import type { UpdateLocks } from '../locks/update-locks';
import type { Slot } from '../machine';
import type { RegistryAccess } from '../registry-access';
import { imagesOf } from '../slots';

export interface SwitchDeps {
  runtime: ContainerRuntime;
  clock: Clock;
  logger: Logger;
  ledger: Pick<ImageLedger, 'add'>;
  registryAccess: Pick<RegistryAccess, 'forPull'>;
  locks: UpdateLocks | undefined;
  healthTimeoutMs: number;
  healthPollMs: number;
}

/**
 * SWITCH and ROLLBACK (and upkeep while idle): converge the engine to `slot`. Its images are
 * recorded in the ledger first, so a crash midway never lets COMMIT collect them.
 */
export async function convergeTo(deps: SwitchDeps, slot: Slot, signal: AbortSignal): Promise<void> {
  await deps.ledger.add(imagesOf(slot));
  await reconcilerFor(deps, slot, signal).reconcile(targetFromDesired(slot));
}

/** Converges without touching the ledger: the slot is the active one, already recorded. */
export async function keepConverged(deps: SwitchDeps, slot: Slot, signal: AbortSignal): Promise<void> {
  await reconcilerFor(deps, slot, signal).reconcile(targetFromDesired(slot));
}

/** Pulls it makes (switch-then-download components, images removed by hand) use the slot's registry logins. */
function reconcilerFor(deps: SwitchDeps, slot: Slot, signal: AbortSignal): Reconciler {
  const locks = deps.locks;
  return new Reconciler({
    authFor: (ref): RegistryAuth | undefined => deps.registryAccess.forPull(ref, slot),
    lockDirOf: locks && ((component) => locks.prepare(component)),
    runtime: deps.runtime,
    clock: deps.clock,
    logger: deps.logger,
    healthTimeoutMs: deps.healthTimeoutMs,
    healthPollMs: deps.healthPollMs,
    signal,
  });
}

/** Running nothing: the slot before the first commit. */
export function emptySlot(): Slot {
  return { schema: 1, rev: 0, release: null, config: {} };
}
