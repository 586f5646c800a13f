import type { Phase } from './machine';

/**
 * A seam around every step the updater drives: called with the phase just journaled, before
 * the step acts on it, and after it acted but before its outcome is journaled. Production
 * passes none; the crash tests (agent/src/testing/pausing-main.ts) stop the process dead
 * there to prove every phase survives SIGKILL.
 */
export interface StepHooks {
  before?(phase: Phase): Promise<void>;
  after?(phase: Phase): Promise<void>;
}
