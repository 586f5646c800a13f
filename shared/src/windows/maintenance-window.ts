import { z } from 'zod';

/**
 * Maintenance windows (issue 18): weekly times, in the device's own time zone, when an update may
 * switch. Downloads happen any time. The schedule rides in `desired.updatePolicy.windows`, so
 * a device decides alone, offline too; the control plane uses the same `nextWindow` to plan.
 */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const MaintenanceWindow = z
  .object({
    days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
    /** Local wall-clock start, `HH:MM` (24 h). */
    start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM, 00:00 to 23:59'),
    /** May run past midnight into the next day. */
    durationMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
  })
  .strict();
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

/** Empty or absent: no restriction, the switch may happen any time. */
export const WindowSchedule = z.array(MaintenanceWindow).max(28);
export type WindowSchedule = z.infer<typeof WindowSchedule>;

export type WindowState =
  /** Inside a window now, until `closesAt` (epoch ms). */
  | { open: true; closesAt: number }
  /** Outside: the next window opens at `opensAt` and closes at `closesAt`. */
  | { open: false; opensAt: number; closesAt: number };

/**
 * Where `now` stands against the schedule in the time zone `tz` (IANA name, e.g.
 * "Europe/Berlin"); null for an empty schedule (no restriction). Pure: the zone's rules come
 * from the runtime's Intl data. A window whose start falls in a daylight-saving gap (a wall
 * clock time that does not exist that day) starts one hour later by the wall clock. Throws RangeError for an unknown time zone.
 */
export function nextWindow(schedule: WindowSchedule, tz: string, now: number): WindowState | null {
  if (schedule.length === 0) return null;
  const today = wallClock(tz, now);
  let next: { opensAt: number; closesAt: number } | undefined;
  // Yesterday's windows may still be open (past midnight); a week ahead always holds the next one.
  for (let dayOffset = -1; dayOffset <= 7; dayOffset++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + dayOffset));
    const weekday = WEEKDAYS[date.getUTCDay()]!;
    for (const w of schedule) {
      if (!w.days.includes(weekday)) continue;
      const [hh, mm] = w.start.split(':').map(Number) as [number, number];
      const opensAt = toInstant(tz, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), hh, mm);
      const closesAt = opensAt + w.durationMinutes * 60_000;
      if (opensAt <= now && now < closesAt) return { open: true, closesAt };
      if (opensAt > now && (!next || opensAt < next.opensAt)) next = { opensAt, closesAt };
    }
  }
  return { open: false, ...next! };
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(tz: string, instant: number): WallClock {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(tz, f);
  }
  const parts = Object.fromEntries(f.formatToParts(instant).map((p) => [p.type, p.value]));
  return { year: +parts.year!, month: +parts.month!, day: +parts.day!, hour: +parts.hour!, minute: +parts.minute! };
}

/** The zone's offset from UTC at `instant`, in ms (wall clock minus UTC). */
function offsetAt(tz: string, instant: number): number {
  const w = wallClock(tz, instant);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(instant / 60_000) * 60_000;
}

/** The instant a local wall-clock time names in `tz` (the later offset wins in a DST overlap). */
function toInstant(tz: string, year: number, month: number, day: number, hour: number, minute: number): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  let guess = asUtc - offsetAt(tz, asUtc);
  guess = asUtc - offsetAt(tz, guess);
  return guess;
}
