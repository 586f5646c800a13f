import { ago, newLogLines, progressBar, rolloutLine, rolloutLines, table, terminalSafe } from './format';

describe('cli format', () => {
  it('aligns table columns', () => {
    expect(
      table(
        ['ID', 'NAME'],
        [
          ['a', 'x'],
          ['bbb', null],
        ],
      ).split('\n'),
    ).toEqual(['ID   NAME', 'a    x', 'bbb  -']);
  });

  it('draws succeeded, failed, updating and pending in a fixed width', () => {
    expect(progressBar({ devices: 10, succeeded: 5, failed: 1, updating: 2 }, 10)).toBe('[#####!~~..]');
    expect(progressBar({ devices: 0, succeeded: 0, failed: 0, updating: 0 }, 4)).toBe('[....]');
    expect(progressBar({ devices: 3, succeeded: 3, failed: 0, updating: 0 }, 4)).toBe('[####]');
  });

  it('describes a rollout per phase, marking the current one', () => {
    const p = (devices: number, succeeded: number, failed = 0) => ({
      devices,
      pending: devices - succeeded - failed,
      updating: 0,
      succeeded,
      failed,
    });
    const r = {
      name: 'r1',
      status: 'running',
      statusReason: null,
      currentPhase: 1,
      totals: p(4, 2),
      phases: [
        { index: 0, name: 'canary', progress: p(1, 1) },
        { index: 1, name: 'rest', progress: p(3, 1) },
      ],
    };
    const lines = rolloutLines(r);
    expect(lines[0]).toBe('r1  running');
    expect(lines[1]).toMatch(/^ {2}1\. canary/);
    expect(lines[2]).toMatch(/^> 2\. rest .*1\/3 ok$/);
    expect(rolloutLine(r)).toBe('running phase 2/2 2/4 ok');
  });

  it('shows the failures an operator accepted, who accepted them and when', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    jest.useFakeTimers({ now });
    const c = { devices: 4, pending: 0, updating: 0, succeeded: 2, failed: 2, accepted: 2 };
    const lines = rolloutLines({
      name: 'r2',
      status: 'completed',
      statusReason: null,
      currentPhase: 0,
      totals: c,
      phases: [{ index: 0, name: 'all', progress: c }],
      acceptances: [{ acceptedBy: 'key-1', acceptedAt: '2026-12-04T11:58:00Z', count: 2, deviceIds: ['d1', 'd2'] }],
    });
    jest.useRealTimers();
    expect(lines.slice(1)).toEqual([
      `  ${'1. all'.padEnd(18)} ${progressBar(c)} 2/4 ok, 2 failed (2 accepted)`,
      `  ${'total'.padEnd(18)} ${progressBar(c)} 2/4 ok, 2 failed (2 accepted)`,
      '  accepted 2 failure(s) by key-1 2m ago: d1, d2',
    ]);
  });

  it('prints only the new tail of a polled log window', () => {
    expect(newLogLines([], ['a', 'b'])).toEqual(['a', 'b']);
    expect(newLogLines(['a', 'b', 'c'], ['b', 'c', 'd', 'e'])).toEqual(['d', 'e']);
    expect(newLogLines(['a'], ['x', 'y'])).toEqual(['x', 'y']);
  });

  it('says how long ago', () => {
    expect(ago('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:02:00Z'))).toBe('2m ago');
    expect(ago(null)).toBe('never');
  });
});

describe('terminalSafe', () => {
  it('writes out what a terminal would act on, and keeps tabs, newlines and other text', () => {
    expect(terminalSafe('a\x1b]0;owned\x07b\x1b[2Jc\rd\x9be\u202ef')).toBe('a\\u001b]0;owned\\u0007b\\u001b[2Jc\\u000dd\\u009be\\u202ef');
    expect(terminalSafe('name\tüñí 名前 ✓\nnext')).toBe('name\tüñí 名前 ✓\nnext');
  });

  it('keeps JSON valid and its values unchanged', () => {
    const value = { name: 'kiosk\u202e\u0085', reason: 'x\x1b[31m' };
    expect(JSON.parse(terminalSafe(JSON.stringify(value)))).toEqual(value);
  });
});
