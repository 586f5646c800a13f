import type { Command } from '@flotilla/shared/device';
import type { Slot } from '../update/machine';
import { commandEventMessage, eventBody, slotFields } from './device-events';

// Unit: how an event is worded and what it is about.
describe('device events', () => {
  it('gives every event its own id and cuts its message to what the control plane stores', () => {
    const at = new Date('2026-12-05T10:00:00.000Z');
    const a = eventBody('apply-started', 'x'.repeat(5_000), at);
    expect(a).toMatchObject({ schema: 1, at: '2026-12-05T10:00:00.000Z', kind: 'apply-started' });
    expect(a.message.length).toBeLessThanOrEqual(2_000);
    expect(eventBody('apply-started', 'm', at).id).not.toBe(a.id);
  });

  it("names the slot's rev and release, or the release given when there is no slot", () => {
    const slot = { rev: 4, release: { id: 'r4' } } as unknown as Slot;
    expect(slotFields(slot, 'fetch', 'other')).toEqual({ rev: 4, releaseId: 'r4', phase: 'fetch' });
    expect(slotFields(null, undefined, 'os-1')).toEqual({ releaseId: 'os-1' });
    expect(slotFields(null)).toEqual({});
  });

  it('words a command on one line, with its arguments', () => {
    const command: Command = { schema: 1, id: 'c9', name: 'restart-component', args: { component: 'web' } };
    expect(commandEventMessage(command, 'ok')).toBe('restart-component component=web (c9): ok');
    expect(commandEventMessage({ ...command, args: {} }, 'no such\ncomponent')).toBe('restart-component (c9): no such component');
  });
});
