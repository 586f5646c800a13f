import type { RolloutPhaseSpec } from '@flotilla/shared';
import { usage } from './errors';

export type PhaseInput = Partial<RolloutPhaseSpec>;

/**
 * `--phase NAME:SIZE[:success=S][:failure=F][:pause|:abort]`, SIZE being a device count (`1`)
 * or a cumulative share (`10%`); e.g. `--phase canary:1:abort --phase half:50% --phase all:100%:failure=5`.
 */
export function parsePhase(text: string): PhaseInput {
  const [name, size, ...rest] = text.split(':');
  if (!name || !size) throw usage(`--phase "${text}": write NAME:SIZE, e.g. canary:1 or rest:100%`);
  const phase: PhaseInput = { name };
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(size);
  if (pct) phase.percent = Number(pct[1]);
  else if (/^\d+$/.test(size)) phase.count = Number(size);
  else throw usage(`--phase "${text}": size "${size}" must be a device count (3) or a percentage (25%)`);
  for (const part of rest) {
    const [key, value] = part.split('=');
    if ((key === 'abort' || key === 'pause') && value === undefined) phase.onFailure = key;
    else if ((key === 'success' || key === 'failure') && value !== undefined && /^\d+(\.\d+)?$/.test(value)) {
      phase[key === 'success' ? 'successThreshold' : 'failureThreshold'] = Number(value);
    } else throw usage(`--phase "${text}": unknown part "${part}" (use success=N, failure=N, pause or abort)`);
  }
  return phase;
}
