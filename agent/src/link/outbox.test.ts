import type { DeviceEvent } from '@flotilla/shared';
import { EMPTY_OUTBOX, enqueue } from './outbox';

const event = (n: number): DeviceEvent => ({ schema: 1, at: '2026-11-27T12:00:00Z', kind: 'update-phase', message: `e${n}` });

describe('outbox enqueue', () => {
  it('keeps events in order up to the capacity', () => {
    const box = [1, 2, 3].reduce((b, n) => enqueue(b, event(n), 5), EMPTY_OUTBOX);
    expect(box.events.map((e) => e.message)).toEqual(['e1', 'e2', 'e3']);
    expect(box.dropped).toBe(0);
  });

  it('drops the oldest beyond the capacity and counts them', () => {
    const box = [1, 2, 3, 4, 5].reduce((b, n) => enqueue(b, event(n), 3), EMPTY_OUTBOX);
    expect(box.events.map((e) => e.message)).toEqual(['e3', 'e4', 'e5']);
    expect(box.dropped).toBe(2);
  });
});
