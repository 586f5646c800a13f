import type { ComponentStatus, Reported } from '@flotilla/shared/device';
import { reportKey, restartsSince } from './report-changes';

// Unit: pure decisions of the reporter.
const web = (containerId: string, restartCount?: number): ComponentStatus => ({
  name: 'web',
  image: 'web:1',
  state: 'running',
  health: 'none',
  containerId,
  ...(restartCount !== undefined ? { restartCount } : {}),
});

describe('restartsSince', () => {
  it('names a container whose restart count grew, once, and keeps the new counts', () => {
    const first = restartsSince(new Map(), [web('c1', 0)]);
    expect(first.restarted).toEqual([]);
    const second = restartsSince(first.counts, [web('c1', 2)]);
    expect(second.restarted).toEqual([{ name: 'web', count: 2 }]);
    expect(restartsSince(second.counts, [web('c1', 2)]).restarted).toEqual([]);
  });

  it('takes a container seen for the first time, or without an id, for no restart, and forgets containers gone', () => {
    const { counts, restarted } = restartsSince(new Map([['gone', 1]]), [web('c2', 5), { ...web('x'), containerId: undefined }]);
    expect(restarted).toEqual([]);
    expect([...counts]).toEqual([['c2', 5]]);
  });
});

describe('reportKey', () => {
  it('is the same when only the timestamp moved, and differs when anything else did', () => {
    const body = { schema: 1, at: '2026-12-05T10:00:00.000Z', agentVersion: '1', rev: 3, components: [] } as unknown as Reported;
    expect(reportKey({ ...body, at: '2026-12-05T10:00:10.000Z' })).toBe(reportKey(body));
    expect(reportKey({ ...body, rev: 4 })).not.toBe(reportKey(body));
  });
});
