import { join } from 'node:path';

/**
 * The agent's installed versions under `<state dir>/alts` (Greengrass' layout). Each
 * version lives in its own directory with `agent.js` and `meta.json`; symlinks name the
 * roles: `current` (what the launcher starts), `old` (what it falls back to), `new` (a
 * version installed and waiting for the launcher to switch), `broken` (the last version
 * that failed its trial). `trial.json` exists while a switched-to version has not yet
 * reported; `failure.json` holds a failed trial's reason until the agent has sent it.
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
}

/** Why a trial failed, for the `agent-update-failed` event. */
export interface FailureRecord {
  version: string;
  sha256: string | null;
  reason: string;
  at: number;
}
