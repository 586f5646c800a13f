import { otherSlot, type BootStatus, type OsSlot } from './boot-slot-backend';

/**
 * The OS A/B update as a pure state machine, the OS-level twin of the assembly updater:
 *
 *   idle → write (inactive slot) → arm (trial) → reboot → trial (checks) → commit → idle
 *                     \                                      \
 *                      └→ failed (bad image)                 └→ fall-back (reboot into the old slot)
 *
 * A trial that never reaches the agent (kernel panic, hang, agent crash loop) is ended by
 * the bootloader itself; the agent, back on the old slot, finds `reboot` or `trial` in its
 * journal, sees the old slot booted, and reports the failed OS update with the reason.
 * `decide(journal, input)` returns the next journal and one action; the caller stores the
 * journal before acting (so a crash repeats an action, never skips one).
 */
export interface OsImageTarget {
  version: string;
  sha256: string;
  size: number;
  url: string;
  releaseId?: string;
}

export type OsUpdatePhase = 'idle' | 'write' | 'arm' | 'reboot' | 'trial' | 'fall-back' | 'commit';

export interface OsUpdateJournal {
  phase: OsUpdatePhase;
  target: OsImageTarget | null;
  fromSlot: OsSlot | null;
  toSlot: OsSlot | null;
  /** boot_id of the boot that asked for the reboot: the same id after a restart means the reboot did not happen. */
  rebootFromBootId: string | null;
  /** When the trial boot's checks started (ms). */
  trialSince: number | null;
  /** Why the running update failed (set before falling back, reported after). */
  failure: string | null;
  /** An image that failed; not tried again until the release names another. */
  failedSha256: string | null;
}

export const IDLE_JOURNAL: OsUpdateJournal = {
  phase: 'idle',
  target: null,
  fromSlot: null,
  toSlot: null,
  rebootFromBootId: null,
  trialSince: null,
  failure: null,
  failedSha256: null,
};

export interface TrialChecks {
  agentUp: boolean;
  controlPlaneReached: boolean;
  assemblyHealthy: boolean;
}

export type OsUpdateInput =
  | { type: 'request'; target: OsImageTarget; status: BootStatus }
  | { type: 'written' }
  | { type: 'write-failed'; reason: string; terminal: boolean }
  | { type: 'armed'; bootId: string }
  /** Arming failed (e.g. the image has no boot files for a board that boots per-slot partitions): nothing was switched. */
  | { type: 'arm-failed'; reason: string }
  /** The agent started (after a reboot or a crash): what the bootloader did, and this boot's id. */
  | { type: 'booted'; status: BootStatus; bootId: string; now: number }
  /** `bootedVersion`: what the trial's root says it is (its /etc/flotilla/os-release), null when it says nothing. */
  | { type: 'checks'; checks: TrialChecks; now: number; bootId: string; bootedVersion: string | null }
  | { type: 'committed' };

export type OsUpdateAction =
  | { kind: 'none' }
  | { kind: 'write-slot'; slot: OsSlot; target: OsImageTarget }
  | { kind: 'arm-trial'; slot: OsSlot }
  | { kind: 'reboot' }
  | { kind: 'run-checks' }
  | { kind: 'commit' }
  /** Take the trial back in the bootloader and reboot into the old slot. */
  | { kind: 'fall-back' }
  | { kind: 'report-committed'; version: string; slot: OsSlot }
  | { kind: 'report-failed'; version: string; reason: string }
  | { kind: 'refuse'; reason: string };

export interface OsUpdatePolicy {
  /** How long a trial boot may take to pass its checks before falling back. */
  trialTimeoutMs: number;
}

export interface Decision {
  journal: OsUpdateJournal;
  action: OsUpdateAction;
}

const stay = (journal: OsUpdateJournal): Decision => ({ journal, action: { kind: 'none' } });

export function decide(journal: OsUpdateJournal, input: OsUpdateInput, policy: OsUpdatePolicy): Decision {
  switch (input.type) {
    case 'request':
      return onRequest(journal, input.target, input.status);
    case 'written':
      if (journal.phase !== 'write') return stay(journal);
      return { journal: { ...journal, phase: 'arm' }, action: { kind: 'arm-trial', slot: journal.toSlot! } };
    case 'write-failed':
      if (journal.phase !== 'write') return stay(journal);
      // A transient failure (network, source ended early) resumes from the checkpoint on the next request.
      if (!input.terminal) return stay(journal);
      return fail(journal, `writing slot ${journal.toSlot}: ${input.reason}`);
    case 'arm-failed':
      if (journal.phase !== 'arm') return stay(journal);
      return fail(journal, `arming a trial of slot ${journal.toSlot}: ${input.reason}`);
    case 'armed':
      if (journal.phase !== 'arm') return stay(journal);
      return { journal: { ...journal, phase: 'reboot', rebootFromBootId: input.bootId }, action: { kind: 'reboot' } };
    case 'booted':
      return onBooted(journal, input.status, input.bootId, input.now);
    case 'checks':
      return onChecks(journal, input, policy);
    case 'committed':
      if (journal.phase !== 'commit') return stay(journal);
      return {
        journal: { ...IDLE_JOURNAL, failedSha256: journal.failedSha256 },
        action: { kind: 'report-committed', version: journal.target!.version, slot: journal.toSlot! },
      };
  }
}

function onRequest(journal: OsUpdateJournal, target: OsImageTarget, status: BootStatus): Decision {
  if (journal.phase !== 'idle') {
    // The same image again while its write stopped on a transient error: resume from the checkpoint.
    if (journal.phase === 'write' && journal.target?.sha256 === target.sha256)
      return { journal, action: { kind: 'write-slot', slot: journal.toSlot!, target } };
    if (journal.target?.sha256 === target.sha256) return stay(journal);
    // A newer image replaces one still being written; past arming the running update finishes first.
    if (journal.phase !== 'write')
      return { journal, action: { kind: 'refuse', reason: `OS update to ${journal.target?.version} is in phase ${journal.phase}` } };
  }
  if (target.sha256 === journal.failedSha256) return stay(journal);
  if (status.inTrial) return { journal, action: { kind: 'refuse', reason: `slot ${status.booted} runs an uncommitted trial` } };
  const toSlot = otherSlot(status.booted);
  return {
    journal: { ...IDLE_JOURNAL, failedSha256: journal.failedSha256, phase: 'write', target, fromSlot: status.booted, toSlot },
    action: { kind: 'write-slot', slot: toSlot, target },
  };
}

function onBooted(journal: OsUpdateJournal, status: BootStatus, bootId: string, now: number): Decision {
  switch (journal.phase) {
    case 'reboot':
    case 'fall-back':
      // The agent restarted but the machine did not: ask again.
      if (journal.rebootFromBootId === bootId) return { journal, action: { kind: journal.phase === 'reboot' ? 'reboot' : 'fall-back' } };
      break;
    case 'trial':
      break;
    case 'write':
      // Resume an interrupted write.
      return { journal, action: { kind: 'write-slot', slot: journal.toSlot!, target: journal.target! } };
    case 'arm':
      return { journal, action: { kind: 'arm-trial', slot: journal.toSlot! } };
    case 'commit':
      return { journal, action: { kind: 'commit' } };
    default:
      return stay(journal);
  }
  if (status.booted === journal.toSlot && status.inTrial && journal.phase !== 'fall-back') {
    return { journal: { ...journal, phase: 'trial', trialSince: journal.trialSince ?? now }, action: { kind: 'run-checks' } };
  }
  if (status.booted === journal.toSlot && !status.inTrial) {
    // Committed already (the agent crashed between commit and its journal write).
    return { journal: { ...journal, phase: 'commit' }, action: { kind: 'commit' } };
  }
  const reason =
    journal.failure ??
    `the trial boot of slot ${journal.toSlot} did not bring the agent up; the bootloader fell back to slot ${status.booted}`;
  return fail(journal, reason);
}

function onChecks(journal: OsUpdateJournal, input: Extract<OsUpdateInput, { type: 'checks' }>, policy: OsUpdatePolicy): Decision {
  if (journal.phase !== 'trial') return stay(journal);
  const { checks, now, bootId, bootedVersion } = input;
  const named = journal.target!.version;
  if (bootedVersion !== named) {
    // Committed, it would still not be the version the release names: written again at every tick, a reboot loop.
    const failure = `the trial boot of slot ${journal.toSlot} runs OS ${bootedVersion ?? 'without a FLOTILLA_OS_VERSION'}, the release names ${named}: build the image with the version the release gives it`;
    return { journal: { ...journal, phase: 'fall-back', failure, rebootFromBootId: bootId }, action: { kind: 'fall-back' } };
  }
  const failing = (Object.keys(checks) as (keyof TrialChecks)[]).filter((k) => !checks[k]);
  if (failing.length === 0) return { journal: { ...journal, phase: 'commit' }, action: { kind: 'commit' } };
  const since = journal.trialSince ?? now;
  if (now - since < policy.trialTimeoutMs) return { journal: { ...journal, trialSince: since }, action: { kind: 'run-checks' } };
  const failure = `trial boot of slot ${journal.toSlot} failed its checks for ${Math.round((now - since) / 1000)} s: ${failing.join(', ')}`;
  return { journal: { ...journal, phase: 'fall-back', failure, rebootFromBootId: bootId }, action: { kind: 'fall-back' } };
}

function fail(journal: OsUpdateJournal, reason: string): Decision {
  return {
    journal: { ...IDLE_JOURNAL, failedSha256: journal.target?.sha256 ?? journal.failedSha256 },
    action: { kind: 'report-failed', version: journal.target?.version ?? 'unknown', reason },
  };
}
