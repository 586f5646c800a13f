import { judgeLock, switchClearance } from './clearance';
import { UNREADABLE_LOCK_TTL_MS, parseLockFile, type UpdateLock } from './lock';

const T = Date.parse('2026-12-04T12:00:00Z');
const lock = (over: Partial<UpdateLock> = {}): UpdateLock => ({
  component: 'printer',
  via: 'file',
  holder: 'job 42',
  since: T - 60_000,
  expiresAt: T + 60_000,
  ...over,
});

describe('parseLockFile', () => {
  it('reads a holder, a pid and an expiry given as ttlSeconds (from the file time) or expiresAt', () => {
    expect(parseLockFile('printer', 'file', '{"holder":"job 42","pid":17,"ttlSeconds":600}', T)).toEqual({
      component: 'printer',
      via: 'file',
      holder: 'job 42',
      pid: 17,
      since: T,
      expiresAt: T + 600_000,
    });
    expect(parseLockFile('printer', 'api', '{"expiresAt":"2026-12-04T13:00:00Z"}', T)).toMatchObject({
      holder: 'printer (api)',
      expiresAt: Date.parse('2026-12-04T13:00:00Z'),
    });
  });

  it('an unreadable lock file still holds, for a bounded time, and says why', () => {
    for (const text of ['', 'not json', '{"holder":"x"}', '{"ttlSeconds":5,"expiresAt":"2026-12-04T13:00:00Z"}', '{"ttlSeconds":-1}']) {
      const parsed = parseLockFile('printer', 'file', text, T);
      expect(parsed).toMatchObject({
        since: T,
        expiresAt: T + UNREADABLE_LOCK_TTL_MS,
        holder: expect.stringMatching(/^unreadable lock file \(/),
      });
    }
  });
});

describe('judgeLock', () => {
  const running = { startedAt: T - 3_600_000, pids: [1, 17] };
  it('holds until it expires; without a pid, whatever the container does', () => {
    expect(judgeLock(lock(), T, undefined).verdict).toBe('held');
    expect(judgeLock(lock({ expiresAt: T }), T, running)).toMatchObject({ verdict: 'expired' });
  });

  it('a lock naming a process is stale once that process is gone, its container stopped, or restarted since (a reboot)', () => {
    const withPid = lock({ pid: 17 });
    expect(judgeLock(withPid, T, running).verdict).toBe('held');
    expect(judgeLock(withPid, T, { ...running, pids: [1] })).toMatchObject({ verdict: 'stale', why: 'process 17 of "printer" is gone' });
    expect(judgeLock(withPid, T, undefined)).toMatchObject({ verdict: 'stale', why: 'its component "printer" is not running' });
    expect(judgeLock(withPid, T, { startedAt: T - 1_000, pids: [1, 17] })).toMatchObject({
      verdict: 'stale',
      why: 'its component "printer" restarted after the lock was taken',
    });
    // The engine could not list the processes: only the container's state decides.
    expect(judgeLock(withPid, T, { ...running, pids: null }).verdict).toBe('held');
  });
});

describe('switchClearance', () => {
  it('switches without locks, waits with them, and says until when the policy lets them defer', () => {
    expect(switchClearance([], undefined, T, T)).toEqual({ kind: 'switch' });
    expect(switchClearance([lock()], undefined, T, T + 999_999)).toEqual({ kind: 'wait', locks: [lock()], until: null });
    expect(switchClearance([lock()], { lockMaxDeferSeconds: 60 }, T, T + 59_999)).toEqual({
      kind: 'wait',
      locks: [lock()],
      until: T + 60_000,
    });
  });

  it('overrides the locks when forced, or once the fleet longest deferral ran out', () => {
    expect(switchClearance([lock()], { force: true }, T, T)).toEqual({ kind: 'override', why: 'forced by an operator', locks: [lock()] });
    expect(switchClearance([lock()], { lockMaxDeferSeconds: 60 }, T, T + 60_000)).toEqual({
      kind: 'override',
      why: "locks deferred the update for the fleet's longest 60 s",
      locks: [lock()],
    });
  });
});
