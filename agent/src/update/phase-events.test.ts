import type { Desired } from '@flotilla/shared';
import { INITIAL_STATE, transition, type UpdateEvent, type UpdateState } from './machine';
import { phaseEvents } from './phase-events';

const desired = (rev: number): Desired => ({ schema: 1, rev, release: null, config: {} });
const committed = (rev: number): UpdateState => ({ ...INITIAL_STATE, active: desired(rev) });

/** The events a walk of the machine raises, as kind → message. */
function walk(state: UpdateState, ...events: UpdateEvent[]): [string, string][] {
  const seen: [string, string][] = [];
  for (const event of events) {
    const next = transition(state, event);
    for (const e of phaseEvents(state, next, event)) seen.push([e.kind, e.message]);
    state = next;
  }
  return seen;
}

describe('phaseEvents', () => {
  it('tells every phase change of a successful update, and the commit', () => {
    const kinds = walk(
      committed(1),
      { type: 'desired', desired: desired(2) },
      ...(['verify', 'fetch', 'switch', 'probation', 'commit'] as const).map((phase): UpdateEvent => ({ type: 'step-succeeded', phase })),
    ).map(([kind]) => kind);
    expect(kinds).toEqual([
      'update-phase',
      'update-phase',
      'update-phase',
      'update-phase',
      'update-phase',
      'update-phase',
      'update-committed',
    ]);
  });

  it('says why a candidate was refused in verify, and that a failed trial was rolled back', () => {
    const refused = walk(
      committed(1),
      { type: 'desired', desired: desired(2) },
      { type: 'step-failed', phase: 'verify', reason: 'unsigned', terminal: true },
    );
    expect(refused).toContainEqual(['update-refused', 'unsigned']);
    const rolledBack = walk(
      committed(1),
      { type: 'desired', desired: desired(2) },
      { type: 'step-succeeded', phase: 'verify' },
      { type: 'step-succeeded', phase: 'fetch' },
      { type: 'step-failed', phase: 'switch', reason: 'web unhealthy', terminal: false },
      { type: 'step-succeeded', phase: 'rollback' },
    );
    expect(rolledBack.find(([kind]) => kind === 'update-rolled-back')?.[1]).toMatch(/failed: web unhealthy$/);
  });

  it('raises nothing when the phase stays', () => {
    const s = committed(1);
    expect(phaseEvents(s, s, { type: 'resumed' })).toEqual([]);
  });
});
