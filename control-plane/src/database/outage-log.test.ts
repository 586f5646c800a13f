import { OutageLog } from './outage-log';

const down = Object.assign(new Error('Connection terminated unexpectedly'), {});
const readOnly = Object.assign(new Error('cannot execute UPDATE in a read-only transaction'), { code: '25006' });

describe('OutageLog', () => {
  it('says a database outage once, then once a minute with the count, then when it ends', () => {
    let now = 0;
    const log = new OutageLog('rollout pass', () => now);
    expect(log.failed(down)).toEqual({ level: 'warn', text: expect.stringContaining('the database is unavailable') });
    const quiet = [];
    for (let i = 0; i < 29; i++) {
      now += 2_000;
      quiet.push(log.failed(down));
    }
    // A pass every 2 s: before, 30 stack traces in the minute.
    expect(quiet.every((l) => l === undefined)).toBe(true);
    now += 2_000;
    expect(log.failed(readOnly)?.text).toMatch(/the database is read-only: .*\(30 rounds failed since the last line\)/);
    now += 5_000;
    expect(log.succeeded()).toEqual({ level: 'warn', text: 'rollout pass works again, after 65 s of database trouble' });
    expect(log.succeeded()).toBeUndefined();
    expect(log.failed(down)).toBeDefined();
  });

  it('logs any other error each time, with its stack', () => {
    const log = new OutageLog('rollout pass', () => 0);
    const bug = new TypeError('cannot read properties of undefined');
    expect(log.failed(bug)).toEqual({ level: 'error', text: expect.stringContaining('TypeError: cannot read properties') });
    expect(log.failed(bug)).toEqual({ level: 'error', text: expect.stringContaining(bug.stack!.split('\n')[1]!.trim()) });
    expect(log.succeeded()).toBeUndefined();
  });
});
