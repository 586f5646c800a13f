import { join } from 'node:path';

/**
 * The agent's installed versions under `<state dir>/alts` (Greengrass' layout). Each
 * version lives in its own directory with `agent.js` and `meta.json`; symlinks name the
 * roles: `current` (what the launcher starts), `old` (what it falls back to), `new` (a
 * version installed and waiting for the launcher to switch), `broken` (the last version
 * that failed its trial). `trial.json` exists while a switched-to version has not yet
 * reported; `failure.json` holds a failed trial's reason until the agent has sent it;
 * `verdict.json` is where an agent on trial that knows it cannot pass (it is not the version
 * the trial names) says so before it exits, for the launcher to put in `failure.json`.
 * The launcher (launcher.ts) and the agent (self-update.ts) share this file and nothing else.
 */
export const ALTS_ENV = 'FLOTILLA_ALTS_DIR';
export const AGENT_FILE = 'agent.js';
export const META_FILE = 'meta.json';

export interface AltsPaths {
  dir: string;
  current: string;
  old: string;
  next: string;
  broken: string;
  trial: string;
  failure: string;
  verdict: string;
  /** The shipped agent's sha256 when a self-installed version first replaced it. */
  shipped: string;
}

export function altsPaths(dir: string): AltsPaths {
  return {
    dir,
    current: join(dir, 'current'),
    old: join(dir, 'old'),
    next: join(dir, 'new'),
    broken: join(dir, 'broken'),
    trial: join(dir, 'trial.json'),
    failure: join(dir, 'failure.json'),
    verdict: join(dir, 'verdict.json'),
    shipped: join(dir, 'shipped.json'),
  };
}

/** What an installed version says about itself (`meta.json`). */
export interface AgentMeta {
  version: string;
  sha256: string;
}

/** A trial in progress: the launcher switched to `version` and waits for it to report until `deadline` (epoch ms). */
export interface TrialRecord {
  version: string;
  startedAt: number;
  deadline: number;
  /**
   * The switch itself, recorded before any link moves so that a power cut in the middle of it can be
   * undone: the version directory `current` named before (null: the agent the OS or package ships)
   * and the one switched to. Absent from the records of launchers before it, whose links say it.
   */
  from?: string | null;
  to?: string;
}

/** Why a trial failed: each way it can, so that the event says which one happened. */
export type TrialFailure =
  /** The agent the bundle holds says it is another version than the release (and `meta.json`) names. */
  | { kind: 'version-mismatch'; expected: string; actual: string }
  /** It ran until the deadline without a `reported` the broker acknowledged. */
  | { kind: 'no-report'; withinSeconds: number }
  /** It exited before it reported. */
  | { kind: 'exited'; code: number | null; signal: string | null; afterSeconds: number }
  /** The launcher found a trial a previous launcher left (power cut, launcher killed). */
  | { kind: 'interrupted' };

export function describeTrialFailure(failure: TrialFailure): string {
  switch (failure.kind) {
    case 'version-mismatch':
      return `the bundle's agent says it is version ${failure.actual}, not the ${failure.expected} its release names`;
    case 'no-report':
      return `it did not connect and report within ${failure.withinSeconds} s`;
    case 'exited':
      return `it crashed at start: exited with ${failure.signal ? `signal ${failure.signal}` : `code ${failure.code}`} after ${failure.afterSeconds.toFixed(1)} s`;
    case 'interrupted':
      return 'the device or the launcher stopped during its trial';
  }
}

/** Why a trial failed, for the `agent-update-failed` event; `reason` is `describeTrialFailure(failure)`. */
export interface FailureRecord {
  version: string;
  sha256: string | null;
  failure: TrialFailure;
  reason: string;
  at: number;
}
