import { nextWindow, type Desired, type UpdateDeferral, type WindowState } from '@flotilla/shared/device';
import type { Clock } from '../support/clock';
import type { Logger } from '../support/logger';

/** Looks again at least this often, so a changed clock (NTP after a cold boot) is noticed. */
const MAX_SLEEP_MS = 60_000;

/**
 * Where the candidate's maintenance windows stand now, in the device's time zone; null when it
 * has none or is forced (no restriction). An unknown zone is read as UTC, with a warning.
 */
export function windowState(candidate: Pick<Desired, 'updatePolicy'>, timeZone: string, now: number, logger?: Logger): WindowState | null {
  const policy = candidate.updatePolicy;
  if (!policy?.windows?.length || policy.force) return null;
  try {
    return nextWindow(policy.windows, timeZone, now);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    logger?.warn('unknown time zone: maintenance windows are read in UTC', { timeZone });
    return nextWindow(policy.windows, 'UTC', now);
  }
}

/**
 * Between download and switch: waits (told through `onDeferral`) until one of the candidate's
 * maintenance windows is open. Resolves at once without windows, when forced, or when aborted.
 */
export async function awaitWindow(
  deps: { clock: Clock; logger: Logger; timeZone: string },
  candidate: Pick<Desired, 'rev' | 'updatePolicy'>,
  signal: AbortSignal,
  onDeferral: (deferral: UpdateDeferral | undefined) => void,
): Promise<void> {
  let since: string | undefined;
  while (!signal.aborted) {
    const now = deps.clock.now().getTime();
    const state = windowState(candidate, deps.timeZone, now, deps.logger);
    if (!state || state.open) break;
    if (!since) {
      since = new Date(now).toISOString();
      deps.logger.info('update waits for a maintenance window', { rev: candidate.rev, opensAt: new Date(state.opensAt).toISOString() });
      onDeferral({ waitingFor: 'window', since, components: [], opensAt: new Date(state.opensAt).toISOString() });
    }
    await deps.clock.sleep(Math.min(state.opensAt - now, MAX_SLEEP_MS), signal);
  }
  if (since) onDeferral(undefined);
}
