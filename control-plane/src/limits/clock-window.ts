import type { DeviceEvent, Telemetry } from '@flotilla/shared';

/**
 * Device clocks are not trusted past a window around the server's: a board without a real-time
 * clock boots in the past until NTP syncs, and a timestamp years ahead would keep a row out of
 * reach of age-based retention for ever. Pure: the server's time is passed in.
 */
export interface ClockWindow {
  pastMs: number;
  futureMs: number;
}

export function inClockWindow(at: string, nowMs: number, window: ClockWindow): boolean {
  const t = Date.parse(at);
  return t >= nowMs - window.pastMs && t <= nowMs + window.futureMs;
}

/**
 * Samples outside the window are dropped: a point plotted at the wrong time is worse than a gap.
 * Returns undefined when none is left.
 */
export function samplesInWindow(
  telemetry: Telemetry,
  nowMs: number,
  window: ClockWindow,
): { kept: Telemetry | undefined; dropped: number } {
  const samples = telemetry.samples.filter((s) => inClockWindow(s.at, nowMs, window));
  const dropped = telemetry.samples.length - samples.length;
  if (dropped === 0) return { kept: telemetry, dropped };
  return { kept: samples.length > 0 ? { ...telemetry, samples } : undefined, dropped };
}

/**
 * An event outside the window is kept (it says what happened to the device) at the server's
 * time of receipt, with the device's own timestamp in its message, so the record shows it.
 */
export function eventInWindow(event: DeviceEvent, nowMs: number, window: ClockWindow): { event: DeviceEvent; clamped: boolean } {
  if (inClockWindow(event.at, nowMs, window)) return { event, clamped: false };
  return { event: { ...event, at: new Date(nowMs).toISOString(), message: `${event.message} [device clock: ${event.at}]` }, clamped: true };
}
