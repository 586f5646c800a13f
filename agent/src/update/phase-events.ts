import type { DeviceEvent } from '@flotilla/shared/device';
import type { Phase, Slot, UpdateEvent, UpdateState } from './machine';
import { describeSlot } from './slots';

export type UpdateEventKind = Extract<DeviceEvent['kind'], `update-${string}` | `release-key-${string}`>;

export interface PhaseEvent {
  kind: UpdateEventKind;
  message: string;
  slot: Slot | null;
  phase: Phase;
}

/** The device events a transition of the A/B machine raises: none when the phase stays. */
export function phaseEvents(before: UpdateState, next: UpdateState, event: UpdateEvent): PhaseEvent[] {
  if (before.phase === next.phase) return [];
  const slot = next.candidate ?? before.candidate;
  const why = event.type === 'step-failed' ? `: ${event.reason}` : event.type === 'resumed' ? ' after a restart' : '';
  const events: PhaseEvent[] = [
    { kind: 'update-phase', message: `${before.phase} → ${next.phase} for ${describeSlot(slot)}${why}`, slot, phase: next.phase },
  ];
  if (event.type === 'step-failed' && before.phase === 'verify') {
    events.push({ kind: 'update-refused', message: event.reason, slot: before.candidate, phase: 'verify' });
  } else if (event.type === 'step-failed' && before.phase === 'fetch') {
    events.push({ kind: 'update-refused', message: `could not fetch the images: ${event.reason}`, slot: before.candidate, phase: 'fetch' });
  }
  if (before.phase === 'commit' && event.type === 'step-succeeded') {
    events.push({ kind: 'update-committed', message: `committed ${describeSlot(next.active)}`, slot: next.active, phase: 'commit' });
  }
  if (before.phase === 'rollback' && event.type === 'step-succeeded') {
    events.push({
      kind: 'update-rolled-back',
      message: `back on ${describeSlot(next.active)}; ${describeSlot(before.candidate)} failed: ${next.lastFailure ?? 'unknown'}`,
      slot: before.candidate,
      phase: 'rollback',
    });
  }
  return events;
}
