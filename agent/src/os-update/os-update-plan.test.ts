import type { BootStatus } from './boot-slot-backend';
import { decide, IDLE_JOURNAL, type OsUpdateInput, type OsUpdateJournal } from './os-update-plan';

const policy = { trialTimeoutMs: 120_000 };
const target = { version: '2026.12.0', sha256: 'a'.repeat(64), size: 1024, url: 'http://127.0.0.1/os.img' };
const onA: BootStatus = { booted: 'A', committed: 'A', inTrial: false };
const trialOfB: BootStatus = { booted: 'B', committed: 'A', inTrial: true };
const ok = { agentUp: true, controlPlaneReached: true, assemblyHealthy: true };

/** Feeds inputs in order; returns every action and the last journal. */
function run(inputs: OsUpdateInput[], journal: OsUpdateJournal = IDLE_JOURNAL) {
  const actions = inputs.map((input) => {
    const d = decide(journal, input, policy);
    journal = d.journal;
    return d.action;
  });
  return { actions, journal };
}

describe('OS update plan', () => {
  it('writes the inactive slot, arms a trial, reboots, checks and commits', () => {
    const { actions, journal } = run([
      { type: 'request', target, status: onA },
      { type: 'written' },
      { type: 'armed', bootId: 'boot-1' },
      { type: 'booted', status: trialOfB, bootId: 'boot-2', now: 1000 },
      { type: 'checks', checks: ok, now: 5000, bootId: 'boot-2', bootedVersion: target.version },
      { type: 'committed' },
    ]);
    expect(actions.map((a) => a.kind)).toEqual(['write-slot', 'arm-trial', 'reboot', 'run-checks', 'commit', 'report-committed']);
    expect(actions[0]).toEqual({ kind: 'write-slot', slot: 'B', target });
    expect(actions[5]).toEqual({ kind: 'report-committed', version: '2026.12.0', slot: 'B' });
    expect(journal.phase).toBe('idle');
  });

  it('fails the update, without a reboot, when arming the trial fails (an image without boot files)', () => {
    const { actions, journal } = run([
      { type: 'request', target, status: onA },
      { type: 'written' },
      { type: 'arm-failed', reason: 'the new root has no /boot/firmware' },
    ]);
    expect(actions.map((a) => a.kind)).toEqual(['write-slot', 'arm-trial', 'report-failed']);
    expect(actions[2]).toEqual({
      kind: 'report-failed',
      version: '2026.12.0',
      reason: 'arming a trial of slot B: the new root has no /boot/firmware',
    });
    expect(journal).toMatchObject({ phase: 'idle', failedSha256: target.sha256 });
  });

  it('reports a failed OS update when the bootloader fell back (the trial never reached the agent)', () => {
    const { actions, journal } = run([
      { type: 'request', target, status: onA },
      { type: 'written' },
      { type: 'armed', bootId: 'boot-1' },
      { type: 'booted', status: onA, bootId: 'boot-3', now: 1000 },
    ]);
    expect(actions[3]).toEqual({
      kind: 'report-failed',
      version: '2026.12.0',
      reason: 'the trial boot of slot B did not bring the agent up; the bootloader fell back to slot A',
    });
    expect(journal).toMatchObject({ phase: 'idle', failedSha256: target.sha256 });
    // The same image is not tried again…
    expect(decide(journal, { type: 'request', target, status: onA }, policy).action.kind).toBe('none');
    // …a new one is.
    expect(decide(journal, { type: 'request', target: { ...target, sha256: 'b'.repeat(64) }, status: onA }, policy).action.kind).toBe(
      'write-slot',
    );
  });

  it('keeps checking until the trial timeout, then falls back and reports the failing checks after the reboot', () => {
    const trial = run([
      { type: 'request', target, status: onA },
      { type: 'written' },
      { type: 'armed', bootId: 'boot-1' },
      { type: 'booted', status: trialOfB, bootId: 'boot-2', now: 0 },
      { type: 'checks', checks: { ...ok, assemblyHealthy: false }, now: 60_000, bootId: 'boot-2', bootedVersion: target.version },
      { type: 'checks', checks: { ...ok, controlPlaneReached: false }, now: 130_000, bootId: 'boot-2', bootedVersion: target.version },
    ]);
    expect(trial.actions.slice(4).map((a) => a.kind)).toEqual(['run-checks', 'fall-back']);
    const after = decide(trial.journal, { type: 'booted', status: onA, bootId: 'boot-3', now: 140_000 }, policy);
    expect(after.action).toEqual({
      kind: 'report-failed',
      version: '2026.12.0',
      reason: 'trial boot of slot B failed its checks for 130 s: controlPlaneReached',
    });
  });

  it('asks for the reboot again when the agent restarted but the machine did not', () => {
    const { journal } = run([{ type: 'request', target, status: onA }, { type: 'written' }, { type: 'armed', bootId: 'boot-1' }]);
    expect(decide(journal, { type: 'booted', status: onA, bootId: 'boot-1', now: 0 }, policy).action).toEqual({ kind: 'reboot' });
  });

  it('resumes an interrupted write and a trial after an agent crash', () => {
    const writing = run([{ type: 'request', target, status: onA }]).journal;
    expect(decide(writing, { type: 'booted', status: onA, bootId: 'x', now: 0 }, policy).action).toEqual({
      kind: 'write-slot',
      slot: 'B',
      target,
    });
    const transient = decide(writing, { type: 'write-failed', reason: 'connection reset', terminal: false }, policy);
    expect(transient.journal.phase).toBe('write');
    const terminal = decide(writing, { type: 'write-failed', reason: 'hash mismatch', terminal: true }, policy);
    expect(terminal.action).toEqual({ kind: 'report-failed', version: '2026.12.0', reason: 'writing slot B: hash mismatch' });
  });

  it('refuses a new OS update during an uncommitted trial', () => {
    expect(decide(IDLE_JOURNAL, { type: 'request', target, status: trialOfB }, policy).action.kind).toBe('refuse');
  });

  it('finishes a commit the agent crashed in the middle of', () => {
    const { journal } = run([
      { type: 'request', target, status: onA },
      { type: 'written' },
      { type: 'armed', bootId: 'b1' },
      { type: 'booted', status: trialOfB, bootId: 'b2', now: 0 },
      { type: 'checks', checks: ok, now: 1, bootId: 'b2', bootedVersion: target.version },
    ]);
    expect(journal.phase).toBe('commit');
    expect(
      decide(journal, { type: 'booted', status: { booted: 'B', committed: 'B', inTrial: false }, bootId: 'b2', now: 2 }, policy).action,
    ).toEqual({
      kind: 'commit',
    });
  });

  it('falls back at once when the trial root is not the version the release names (it would be written again for ever)', () => {
    const { actions, journal } = run([
      { type: 'request', target, status: onA },
      { type: 'written' },
      { type: 'armed', bootId: 'boot-1' },
      { type: 'booted', status: trialOfB, bootId: 'boot-2', now: 1000 },
      { type: 'checks', checks: ok, now: 2000, bootId: 'boot-2', bootedVersion: '2026.11.0' },
      { type: 'booted', status: onA, bootId: 'boot-3', now: 3000 },
    ]);
    expect(actions.map((a) => a.kind)).toEqual(['write-slot', 'arm-trial', 'reboot', 'run-checks', 'fall-back', 'report-failed']);
    expect(actions[5]).toEqual({
      kind: 'report-failed',
      version: '2026.12.0',
      reason:
        'the trial boot of slot B runs OS 2026.11.0, the release names 2026.12.0: build the image with the version the release gives it',
    });
    expect(journal).toMatchObject({ phase: 'idle', failedSha256: target.sha256 });
  });
});
