import { nextWindow, type WindowSchedule } from './maintenance-window';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const nights: WindowSchedule = [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '02:00', durationMinutes: 120 }];

describe('nextWindow', () => {
  it('no schedule: no restriction', () => {
    expect(nextWindow([], 'Europe/Berlin', at('2026-12-04T12:00:00Z'))).toBeNull();
  });

  // Friday 4 December 2026. Berlin is UTC+1 in winter, UTC+2 in summer; Tokyo UTC+9; New York UTC-5.
  it.each([
    // [what, schedule, zone, now, expected]
    [
      "before tonight's window, in Berlin",
      nights,
      'Europe/Berlin',
      '2026-12-03T23:00:00Z',
      { open: false, opensAt: '2026-12-04T01:00:00.000Z', closesAt: '2026-12-04T03:00:00.000Z' },
    ],
    ['inside it', nights, 'Europe/Berlin', '2026-12-04T02:30:00Z', { open: true, closesAt: '2026-12-04T03:00:00.000Z' }],
    [
      'at its end: closed, next on Monday',
      nights,
      'Europe/Berlin',
      '2026-12-04T03:00:00Z',
      { open: false, opensAt: '2026-12-07T01:00:00.000Z', closesAt: '2026-12-07T03:00:00.000Z' },
    ],
    [
      'the same schedule in Tokyo',
      nights,
      'Asia/Tokyo',
      '2026-12-03T12:00:00Z',
      { open: false, opensAt: '2026-12-03T17:00:00.000Z', closesAt: '2026-12-03T19:00:00.000Z' },
    ],
    [
      'in New York, Friday night UTC is still Friday evening',
      nights,
      'America/New_York',
      '2026-12-05T03:00:00Z',
      { open: false, opensAt: '2026-12-07T07:00:00.000Z', closesAt: '2026-12-07T09:00:00.000Z' },
    ],
    [
      'summer time shifts the instant, not the wall clock',
      nights,
      'Europe/Berlin',
      '2026-07-01T12:00:00Z',
      { open: false, opensAt: '2026-07-02T00:00:00.000Z', closesAt: '2026-07-02T02:00:00.000Z' },
    ],
    [
      'a window past midnight is still open the next morning',
      [{ days: ['sat'], start: '23:00', durationMinutes: 180 }] as WindowSchedule,
      'UTC',
      '2026-12-06T01:30:00Z',
      { open: true, closesAt: '2026-12-06T02:00:00.000Z' },
    ],
    [
      'the earliest of several windows',
      [
        { days: ['sun'], start: '04:00', durationMinutes: 60 },
        { days: ['sat'], start: '22:00', durationMinutes: 30 },
      ] as WindowSchedule,
      'UTC',
      '2026-12-04T12:00:00Z',
      { open: false, opensAt: '2026-12-05T22:00:00.000Z', closesAt: '2026-12-05T22:30:00.000Z' },
    ],
  ])('%s', (_what, schedule, tz, now, expected) => {
    const got = nextWindow(schedule, tz, at(now));
    expect(got && { ...got, ...('opensAt' in got ? { opensAt: iso(got.opensAt) } : {}), closesAt: iso(got.closesAt) }).toEqual(expected);
  });

  it('the spring-forward gap: a 02:30 window on the day Berlin skips 02:00-03:00 opens at 03:30 local', () => {
    const got = nextWindow([{ days: ['sun'], start: '02:30', durationMinutes: 60 }], 'Europe/Berlin', at('2026-03-28T12:00:00Z'));
    expect(got).toMatchObject({ open: false, opensAt: at('2026-03-29T01:30:00Z') });
  });

  it('an unknown time zone is an error, not a guess', () => {
    expect(() => nextWindow(nights, 'Mars/Olympus', 0)).toThrow(RangeError);
  });
});
