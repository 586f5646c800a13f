import { DroppedEventsLog, EventBacklog, GATE_SHARE } from './event-backlog';

describe('EventBacklog', () => {
  it("is full at a device's own bound, then at the bound of all devices; a stored event makes room", () => {
    const backlog = new EventBacklog({ eventsWaitingPerDevice: 2, eventsWaitingTotal: 3 });
    backlog.enter('a');
    expect(backlog.full('a')).toBeUndefined();
    backlog.enter('a');
    expect(backlog.full('a')).toBe('device');
    expect(backlog.full('b')).toBeUndefined();
    backlog.enter('b');
    expect([backlog.full('b'), backlog.full('c'), backlog.size]).toEqual(['total', 'total', 3]);
    backlog.leave('a');
    expect([backlog.full('a'), backlog.full('c'), backlog.size]).toEqual([undefined, undefined, 2]);
  });

  it("is full for the broker's gate at half of each bound", () => {
    const backlog = new EventBacklog({ eventsWaitingPerDevice: 6, eventsWaitingTotal: 9 });
    for (let i = 0; i < 3; i++) backlog.enter('a');
    expect([backlog.full('a', GATE_SHARE), backlog.full('a'), backlog.full('b', GATE_SHARE)]).toEqual(['device', undefined, undefined]);
    backlog.enter('b');
    expect(backlog.full('b', GATE_SHARE)).toBeUndefined();
    backlog.enter('b');
    expect([backlog.full('b', GATE_SHARE), backlog.full('b')]).toEqual(['total', undefined]);
  });

  it('takes 0 as no bound', () => {
    const backlog = new EventBacklog({ eventsWaitingPerDevice: 0, eventsWaitingTotal: 0 });
    for (let i = 0; i < 10_000; i++) backlog.enter('a');
    expect(backlog.full('a')).toBeUndefined();
  });
});

describe('DroppedEventsLog', () => {
  it('tells the first drop at once, later ones once per interval with their count by bound', () => {
    let now = 0;
    const log = new DroppedEventsLog({ eventsWaitingPerDevice: 1000, eventsWaitingTotal: 50_000 }, 60_000, () => now);
    expect(log.dropped('device')).toMatch(/^dropped 1 device event unstored.*1 of devices that had 1000 waiting/);
    now = 1_000;
    expect(log.dropped('device')).toBeUndefined();
    expect(log.dropped('total')).toBeUndefined();
    expect(log.due()).toBeUndefined();
    now = 61_000;
    const line = log.due();
    expect(line).toMatch(/^dropped 2 device events unstored/);
    expect(line).toContain('1 of devices that had 1000 waiting (FLOTILLA_EVENTS_WAITING_PER_DEVICE); 1 while 50000 waited in all');
    now = 200_000;
    expect(log.due()).toBeUndefined();
  });
});
