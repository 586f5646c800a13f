import type { Desired } from '@flotilla/shared';
import { INITIAL_STATE, heldRev, slotToRun, transition, type Phase, type UpdateEvent, type UpdateState } from './machine';

const desired = (rev: number): Desired => ({ schema: 1, rev, release: null, config: { REV: String(rev) } });
const ok = (phase: Phase): UpdateEvent => ({ type: 'step-succeeded', phase });
const fail = (phase: Phase, reason = 'boom'): UpdateEvent => ({ type: 'step-failed', phase, reason, terminal: true });
const falter = (phase: Phase, reason = 'engine unreachable'): UpdateEvent => ({ type: 'step-failed', phase, reason, terminal: false });
const run = (state: UpdateState, ...events: UpdateEvent[]): UpdateState => events.reduce(transition, state);

const committed = (rev: number): UpdateState => ({ ...INITIAL_STATE, active: desired(rev) });

describe('A/B update state machine', () => {
  it('walks verify → fetch → switch → probation → commit and makes the candidate active', () => {
    let s = transition(committed(1), { type: 'desired', desired: desired(2) });
    expect(s.phase).toBe('verify');
    expect(slotToRun(s)!.rev).toBe(1);
    s = run(s, ok('verify'), ok('fetch'));
    expect(s.phase).toBe('switch');
    expect(slotToRun(s)!.rev).toBe(2);
    s = run(s, ok('switch'), ok('probation'), ok('commit'));
    expect(s).toEqual({ ...INITIAL_STATE, active: desired(2) });
  });

  it('ignores a desired it already holds, and a success reported for another phase', () => {
    const s = committed(5);
    expect(transition(s, { type: 'desired', desired: desired(5) })).toBe(s);
    expect(transition(s, { type: 'desired', desired: desired(3) })).toBe(s);
    const verifying = transition(s, { type: 'desired', desired: desired(6) });
    expect(transition(verifying, ok('probation'))).toBe(verifying);
  });

  it('drops a candidate refused before switch without touching the active slot', () => {
    const s = run(committed(1), { type: 'desired', desired: desired(2) }, ok('verify'), fail('fetch', 'image not found'));
    expect(s).toEqual({ ...committed(1), failedRev: 2, lastFailure: 'image not found' });
  });

  it('keeps a candidate whose verify or fetch failed transiently, so the same rev is tried again', () => {
    const verifying = transition(committed(1), { type: 'desired', desired: desired(2) });
    const fetching = transition(verifying, ok('verify'));
    for (const s of [verifying, fetching]) {
      const after = transition(s, falter(s.phase, 'container engine could not read engine info: connect ENOENT'));
      expect(after).toBe(s);
      expect(after).toMatchObject({ failedRev: null, lastFailure: null, candidate: desired(2) });
      // The rev the control plane sends again (desired/get after a reconnect) changes nothing: it is held.
      expect(transition(after, { type: 'desired', desired: desired(2) })).toBe(after);
      // A restart meanwhile verifies the same candidate again; nothing in the journal says it failed.
      expect(transition(after, { type: 'resumed' })).toMatchObject({ phase: 'verify', candidate: desired(2), failedRev: null });
    }
    expect(run(verifying, falter('verify'), falter('verify'), ok('verify'), falter('fetch'), ok('fetch')).phase).toBe('switch');
  });

  it('lets a newer desired supersede a candidate waiting out a transient failure', () => {
    const waiting = run(committed(1), { type: 'desired', desired: desired(2) }, ok('verify'), falter('fetch'));
    expect(transition(waiting, { type: 'desired', desired: desired(3) })).toEqual({
      ...committed(1),
      phase: 'verify',
      candidate: desired(3),
    });
  });

  it('fails the rev on a terminal refusal in verify or fetch, even after transient failures', () => {
    const refused = run(committed(1), { type: 'desired', desired: desired(2) }, falter('verify'), fail('verify', 'wrong architecture'));
    expect(refused).toEqual({ ...committed(1), failedRev: 2, lastFailure: 'wrong architecture' });
    expect(transition(refused, { type: 'desired', desired: desired(2) })).toBe(refused);
  });

  it('rolls back when switch or probation fails, transiently or not, and never retries that rev', () => {
    for (const phase of ['switch', 'probation'] as const) {
      let s = run(committed(1), { type: 'desired', desired: desired(2) }, ok('verify'), ok('fetch'));
      if (phase === 'probation') s = transition(s, ok('switch'));
      s = transition(s, (phase === 'switch' ? falter : fail)(phase, 'web unhealthy'));
      expect(s.phase).toBe('rollback');
      expect(slotToRun(s)!.rev).toBe(1);
      s = transition(s, ok('rollback'));
      expect(s).toEqual({ ...committed(1), failedRev: 2, lastFailure: 'web unhealthy' });
      expect(transition(s, { type: 'desired', desired: desired(2) })).toBe(s);
      expect(transition(s, { type: 'desired', desired: desired(3) }).phase).toBe('verify');
    }
  });

  it('rolls back when the agent restarts in switch or probation, and restarts verification before that', () => {
    const switching = run(committed(1), { type: 'desired', desired: desired(2) }, ok('verify'), ok('fetch'));
    expect(transition(switching, { type: 'resumed' })).toMatchObject({
      phase: 'rollback',
      failedRev: 2,
      lastFailure: 'agent restarted during switch',
    });
    const probation = transition(switching, ok('switch'));
    expect(transition(probation, { type: 'resumed' })).toMatchObject({
      phase: 'rollback',
      lastFailure: 'agent restarted during probation',
    });
    const fetching = run(committed(1), { type: 'desired', desired: desired(2) }, ok('verify'));
    expect(transition(fetching, { type: 'resumed' }).phase).toBe('verify');
    expect(transition(committed(1), { type: 'resumed' })).toEqual(committed(1));
  });

  it('lets a newer desired replace a candidate before switch, and queues it after', () => {
    const fetching = run(committed(1), { type: 'desired', desired: desired(2) }, ok('verify'));
    expect(transition(fetching, { type: 'desired', desired: desired(3) })).toMatchObject({ phase: 'verify', candidate: desired(3) });

    const probation = run(fetching, ok('fetch'), ok('switch'));
    const queued = transition(probation, { type: 'desired', desired: desired(3) });
    expect(queued).toMatchObject({ phase: 'probation', candidate: desired(2), pending: desired(3) });
    expect(heldRev(queued)).toBe(3);
    expect(run(queued, ok('probation'), ok('commit'))).toMatchObject({
      phase: 'verify',
      active: desired(2),
      candidate: desired(3),
      pending: null,
    });
    expect(run(queued, fail('probation'), ok('rollback'))).toMatchObject({
      phase: 'verify',
      active: desired(1),
      candidate: desired(3),
      failedRev: 2,
    });
  });

  it('keeps retrying commit and rollback: a failure there does not change the phase', () => {
    const committing = run(
      committed(1),
      { type: 'desired', desired: desired(2) },
      ok('verify'),
      ok('fetch'),
      ok('switch'),
      ok('probation'),
    );
    expect(transition(committing, fail('commit'))).toBe(committing);
    expect(transition(committing, falter('commit'))).toBe(committing);
    const rollingBack = transition(committing, { type: 'resumed' });
    expect(rollingBack.phase).toBe('commit');
  });
});
