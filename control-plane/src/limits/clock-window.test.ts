import { PROTOCOL_SCHEMA, type DeviceEvent, type Telemetry } from '@flotilla/shared';
import { eventInWindow, inClockWindow, samplesInWindow } from './clock-window';

const window = { pastMs: 7 * 86_400_000, futureMs: 300_000 };
const now = Date.parse('2026-12-04T12:00:00Z');

function sample(at: string): Telemetry['samples'][number] {
  return { at, cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 2 };
}

describe('clock window', () => {
  it('includes both edges and nothing beyond', () => {
    expect(inClockWindow('2026-12-04T12:05:00Z', now, window)).toBe(true);
    expect(inClockWindow('2026-12-04T12:05:00.001Z', now, window)).toBe(false);
    expect(inClockWindow('2026-11-27T12:00:00Z', now, window)).toBe(true);
    expect(inClockWindow('2026-11-27T11:59:59.999Z', now, window)).toBe(false);
    // Offsets count: 13:04 at +01:00 is 12:04 UTC.
    expect(inClockWindow('2026-12-04T13:04:00+01:00', now, window)).toBe(true);
  });

  it('drops telemetry samples outside the window and keeps the rest', () => {
    const t: Telemetry = {
      schema: PROTOCOL_SCHEMA,
      samples: [sample('2026-12-04T11:59:00Z'), sample('2099-01-01T00:00:00Z'), sample('1970-01-01T00:00:00Z')],
    };
    expect(samplesInWindow(t, now, window)).toEqual({
      kept: { schema: PROTOCOL_SCHEMA, samples: [sample('2026-12-04T11:59:00Z')] },
      dropped: 2,
    });
    expect(samplesInWindow({ schema: PROTOCOL_SCHEMA, samples: [sample('2099-01-01T00:00:00Z')] }, now, window)).toEqual({
      kept: undefined,
      dropped: 1,
    });
  });

  it('stores an out-of-window event at server time, with the device clock in its message', () => {
    const event: DeviceEvent = { schema: PROTOCOL_SCHEMA, at: '2099-01-01T00:00:00.000Z', kind: 'apply-started', message: 'starting' };
    expect(eventInWindow(event, now, window)).toEqual({
      event: { ...event, at: '2026-12-04T12:00:00.000Z', message: 'starting [device clock: 2099-01-01T00:00:00.000Z]' },
      clamped: true,
    });
    const ok = { ...event, at: '2026-12-04T11:00:00Z' };
    expect(eventInWindow(ok, now, window)).toEqual({ event: ok, clamped: false });
  });
});
