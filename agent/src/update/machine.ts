import type { Desired } from '@flotilla/shared/device';

/**
 * The assembly A/B update as a pure state machine (docs/architecture.md, "The assembly A/B machine"):
 *
 *   idle → verify → fetch → switch → probation → commit → idle
 *                  \        \          \
 *                   └────────┴──────────┴→ rollback → idle
 *
 * `transition(state, event)` decides; the updater acts on the phase it returns, after the
 * journal has that state on disk. Nothing here does I/O or reads a clock.
 *
 * A failure that is not terminal (the engine unreachable, a full or failing disk: see
 * `isTerminal` in support/errors.ts) changes nothing in VERIFY and FETCH, nor in COMMIT and
 * ROLLBACK: the state stays as it is and the updater runs the same step again, with backoff.
 * Only a terminal refusal (the release is unusable on this device) fails the candidate's rev.
 */
export const PHASES = ['idle', 'verify', 'fetch', 'switch', 'probation', 'commit', 'rollback'] as const;
export type Phase = (typeof PHASES)[number];

/** One side of the A/B pair: a desired document the device was asked to run. */
export type Slot = Desired;

export interface UpdateState {
  phase: Phase;
  /** The last committed assembly: what a rollback returns to. */
  active: Slot | null;
  /** The assembly on trial, from verify until commit or rollback. */
  candidate: Slot | null;
  /** A newer desired that arrived while the candidate was past the point of no return. */
  pending: Slot | null;
  /** Highest rev that rolled back or was refused; not tried again until a newer rev comes. */
  failedRev: number | null;
  /** Why the last update failed, for the reported state and events. */
  lastFailure: string | null;
}

export const INITIAL_STATE: UpdateState = {
  phase: 'idle',
  active: null,
  candidate: null,
  pending: null,
  failedRev: null,
  lastFailure: null,
};

export type UpdateEvent =
  | { type: 'desired'; desired: Desired }
  | { type: 'step-succeeded'; phase: Phase }
  /** `terminal`: trying again cannot help (`isTerminal`); a transient failure before switch is retried. */
  | { type: 'step-failed'; phase: Phase; reason: string; terminal: boolean }
  /** The agent started and found this state in its journal. */
  | { type: 'resumed' };

/** Phases in which the active slot is untouched, so a newer desired can simply replace the candidate. */
const BEFORE_SWITCH: readonly Phase[] = ['verify', 'fetch'];

export function heldRev(state: UpdateState): number {
  return Math.max(state.active?.rev ?? -1, state.candidate?.rev ?? -1, state.pending?.rev ?? -1, state.failedRev ?? -1);
}

export function transition(state: UpdateState, event: UpdateEvent): UpdateState {
  switch (event.type) {
    case 'desired':
      return onDesired(state, event.desired);
    case 'step-succeeded':
      return event.phase === state.phase ? onSuccess(state) : state;
    case 'step-failed':
      return event.phase === state.phase ? onFailure(state, event.reason, event.terminal) : state;
    case 'resumed':
      return onResume(state);
  }
}

function onDesired(state: UpdateState, desired: Desired): UpdateState {
  if (desired.rev <= heldRev(state)) return state;
  if (state.phase === 'idle' || BEFORE_SWITCH.includes(state.phase)) {
    return { ...state, phase: 'verify', candidate: desired, pending: null };
  }
  return { ...state, pending: desired };
}

function onSuccess(state: UpdateState): UpdateState {
  switch (state.phase) {
    case 'verify':
      return { ...state, phase: 'fetch' };
    case 'fetch':
      return { ...state, phase: 'switch' };
    case 'switch':
      return { ...state, phase: 'probation' };
    case 'probation':
      return { ...state, phase: 'commit' };
    case 'commit':
      return startPending({ ...state, active: state.candidate, candidate: null, lastFailure: null });
    case 'rollback':
      return startPending({ ...state, candidate: null });
    case 'idle':
      return state;
  }
}

function onFailure(state: UpdateState, reason: string, terminal: boolean): UpdateState {
  const failedRev = state.candidate?.rev ?? state.failedRev;
  switch (state.phase) {
    // Nothing was changed on the device yet. A transient failure says nothing about the release:
    // stay, so the updater tries again. A terminal one drops the candidate; the active slot runs on.
    case 'verify':
    case 'fetch':
      if (!terminal) return state;
      return startPending({ ...state, candidate: null, failedRev, lastFailure: reason });
    // The candidate already touched the engine: any failure rolls back.
    case 'switch':
    case 'probation':
      return { ...state, phase: 'rollback', failedRev, lastFailure: reason };
    // Commit and rollback only converge on a slot the device already ran; the updater retries them.
    case 'commit':
    case 'rollback':
    case 'idle':
      return state;
  }
}

/** A restart in switch or probation means the candidate may be what crashed us: roll back (docs/architecture.md, "The assembly A/B machine"). */
function onResume(state: UpdateState): UpdateState {
  switch (state.phase) {
    case 'switch':
    case 'probation':
      return {
        ...state,
        phase: 'rollback',
        failedRev: state.candidate?.rev ?? state.failedRev,
        lastFailure: `agent restarted during ${state.phase}`,
      };
    case 'verify':
    case 'fetch':
      return { ...state, phase: 'verify' };
    default:
      return state;
  }
}

function startPending(state: UpdateState): UpdateState {
  if (state.pending && state.pending.rev > (state.failedRev ?? -1)) {
    return { ...state, phase: 'verify', candidate: state.pending, pending: null };
  }
  return { ...state, phase: 'idle', pending: null };
}

/** The slot the containers should match in a phase: the candidate from switch on, else the active one. */
export function slotToRun(state: UpdateState): Slot | null {
  return state.phase === 'switch' || state.phase === 'probation' || state.phase === 'commit' ? state.candidate : state.active;
}
