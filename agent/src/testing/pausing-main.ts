// Crash tests only: the real agent, whose updater stops dead on reaching one phase, so the
// test can SIGKILL it exactly there. `node -r ts-register.js pausing-main.ts PHASE[:after]`:
// PHASE alone stops once the phase is journaled but before it acts; PHASE:after once it acted
// but before its outcome is journaled. The pause reaches the updater through its step hooks
// (`update/step-hooks.ts`); the production entry (`main.ts`) has no such switch.
import { readConfig } from '../config';
import { runAgent } from '../run-agent';
import { jsonLogger } from '../support/logger';
import { PHASES, type Phase } from '../update/machine';
import type { StepHooks } from '../update/step-hooks';

const [phase, when = 'before'] = (process.argv[2] ?? '').split(':');
if (!(PHASES as readonly string[]).includes(phase ?? '') || (when !== 'before' && when !== 'after')) {
  process.stderr.write(`usage: pausing-main.ts PHASE[:after], PHASE one of ${PHASES.join(', ')}\n`);
  process.exit(2);
}
const config = readConfig(process.env);
const logger = jsonLogger({ level: config.logLevel });
const stopDead = (at: Phase, moment: 'before' | 'after'): Promise<void> => {
  if (at !== phase || moment !== when) return Promise.resolve();
  logger.warn('test pause', { phase: at, when: moment });
  return new Promise<never>(() => undefined);
};
const stepHooks: StepHooks = { before: (at) => stopDead(at, 'before'), after: (at) => stopDead(at, 'after') };
runAgent(config, logger, { stepHooks }).then(
  () => process.exit(0),
  (err: unknown) => {
    logger.error('fatal', { error: String(err) });
    process.exit(1);
  },
);
