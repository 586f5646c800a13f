import type { DeviceEvent } from '@flotilla/shared';
import { silentLogger } from '../support/logger';
import { EventOutbox, type EventLink } from './outbox';
import { EMPTY_OUTBOX, acknowledge, dueEvents, enqueue, withOverflowReport, type KeptEvent } from './outbox-rules';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const event = (n: number): KeptEvent => ({
  schema: 1,
  id: uuid(n),
  at: '2026-11-27T12:00:00.000Z',
  kind: 'update-phase',
  message: `e${n}`,
});
const report = (dropped: number): KeptEvent => ({ ...event(900 + dropped), kind: 'outbox-overflow', message: `${dropped} dropped` });
const messages = (events: readonly DeviceEvent[]) => events.map((e) => e.message);

describe('outbox rules', () => {
  it('keeps events in order up to the capacity', () => {
    const box = [1, 2, 3].reduce((b, n) => enqueue(b, event(n), 5), EMPTY_OUTBOX);
    expect(messages(box.events)).toEqual(['e1', 'e2', 'e3']);
    expect(box.dropped).toBe(0);
  });

  it('drops the oldest beyond the capacity and counts them', () => {
    const box = [1, 2, 3, 4, 5].reduce((b, n) => enqueue(b, event(n), 3), EMPTY_OUTBOX);
    expect(messages(box.events)).toEqual(['e3', 'e4', 'e5']);
    expect(box.dropped).toBe(2);
  });

  it('reports the drops once, after what waits, and never drops the report (its count would be lost with it)', () => {
    const full = [1, 2, 3, 4].reduce((b, n) => enqueue(b, event(n), 2), EMPTY_OUTBOX);
    const reported = withOverflowReport(full, report);
    expect(messages(reported.events)).toEqual(['e3', 'e4', '2 dropped']);
    expect(reported.dropped).toBe(0);
    const later = [5, 6, 7].reduce((b, n) => enqueue(b, event(n), 2), reported);
    expect(messages(later.events)).toEqual(['2 dropped', 'e6', 'e7']);
    expect(later.dropped).toBe(3);
    // One report at a time: the drops since wait until it is acknowledged.
    expect(withOverflowReport(later, report)).toBe(later);
    const acknowledged = acknowledge(later, report(2).id);
    expect(messages(withOverflowReport(acknowledged, report).events)).toEqual(['e6', 'e7', '3 dropped']);
  });

  it('reports nothing when nothing was dropped', () => {
    const box = enqueue(EMPTY_OUTBOX, event(1), 2);
    expect(withOverflowReport(box, report)).toBe(box);
  });

  it('sends, in order, what is on disk and not already with the client', () => {
    const box = [1, 2, 3, 4].reduce((b, n) => enqueue(b, event(n), 10), EMPTY_OUTBOX);
    expect(messages(dueEvents(box, new Set([uuid(2)]), new Set([uuid(4)])))).toEqual(['e1', 'e3']);
  });

  it('removes an acknowledged event, and nothing for one dropped meanwhile', () => {
    const box = [1, 2].reduce((b, n) => enqueue(b, event(n), 10), EMPTY_OUTBOX);
    expect(messages(acknowledge(box, uuid(1)).events)).toEqual(['e2']);
    expect(acknowledge(box, uuid(7))).toBe(box);
  });
});

/** A link that records what it is handed and settles each publish when the test says. */
class HeldLink implements EventLink {
  connected = true;
  readonly sent: { event: DeviceEvent; delivered: () => void; failed: (err: Error) => void }[] = [];
  publish(_channel: 'events', event: DeviceEvent, delivered: () => void, failed: (err: Error) => void): void {
    this.sent.push({ event, delivered, failed });
  }
  messages(): string[] {
    return this.sent.map((s) => s.event.message);
  }
}

/** The outbox's file in memory: counts the writes, and can hold them to show what happens before one ends. */
function memoryFile() {
  const file = {
    text: undefined as string | undefined,
    writes: 0,
    hold: undefined as Promise<void> | undefined,
    read: async () => file.text,
    write: async (text: string) => {
      file.writes++;
      await file.hold;
      file.text = text;
    },
    kept: () => messages((JSON.parse(file.text ?? '{"events":[]}') as { events: DeviceEvent[] }).events),
  };
  return file;
}

function outboxOn(file: ReturnType<typeof memoryFile>, link: EventLink, capacity = 10): EventOutbox {
  const outbox = new EventOutbox('state', capacity, file);
  outbox.attach(link, { overflow: report, logger: silentLogger });
  return outbox;
}

describe('EventOutbox (its file in memory)', () => {
  it('sends an event only once it is on disk, and removes it only once the broker acknowledged it', async () => {
    const file = memoryFile();
    const link = new HeldLink();
    const outbox = outboxOn(file, link);
    let release!: () => void;
    file.hold = new Promise((r) => (release = r));
    const kept = outbox.push(event(1));
    outbox.pump();
    await Promise.resolve();
    expect(link.sent).toEqual([]);
    release();
    await kept;
    expect(link.messages()).toEqual(['e1']);
    await outbox.settled();
    expect(file.kept()).toEqual(['e1']);
    link.sent[0]!.delivered();
    await outbox.settled();
    expect(file.kept()).toEqual([]);
    expect(outbox.size).toBe(0);
  });

  it('hands each event to the client once per process, and again after the client gave it up', async () => {
    const file = memoryFile();
    const link = new HeldLink();
    const outbox = outboxOn(file, link);
    await outbox.push(event(1));
    await outbox.push(event(2));
    // A reconnect: the client resends what it holds itself.
    outbox.pump();
    expect(link.messages()).toEqual(['e1', 'e2']);
    link.sent[1]!.failed(new Error('Connection closed'));
    expect(link.messages()).toEqual(['e1', 'e2']);
    outbox.pump();
    expect(link.messages()).toEqual(['e1', 'e2', 'e2']);
  });

  it('keeps what arrives while offline and sends it, in order, on connect', async () => {
    const file = memoryFile();
    const link = new HeldLink();
    link.connected = false;
    const outbox = outboxOn(file, link);
    for (const n of [1, 2, 3]) await outbox.push(event(n));
    expect(link.sent).toEqual([]);
    link.connected = true;
    outbox.pump();
    expect(link.messages()).toEqual(['e1', 'e2', 'e3']);
  });

  it('keeps a burst of events in a write or two, not one each, and their acknowledgments likewise', async () => {
    const file = memoryFile();
    const link = new HeldLink();
    const outbox = outboxOn(file, link, 100);
    await Promise.all(Array.from({ length: 50 }, (_, n) => outbox.push(event(n))));
    expect(file.writes).toBeLessThanOrEqual(2);
    expect(link.sent).toHaveLength(50);
    const before = file.writes;
    for (const s of link.sent) s.delivered();
    await outbox.settled();
    expect(file.writes - before).toBeLessThanOrEqual(2);
    expect(file.kept()).toEqual([]);
  });

  it('tells the overflow in an event kept and sent like the others, after those that wait', async () => {
    const file = memoryFile();
    const link = new HeldLink();
    link.connected = false;
    const outbox = outboxOn(file, link, 2);
    for (const n of [1, 2, 3, 4, 5]) await outbox.push(event(n));
    link.connected = true;
    outbox.pump();
    await outbox.settled();
    expect(link.messages()).toEqual(['e4', 'e5', '3 dropped']);
    expect(file.kept()).toEqual(['e4', 'e5', '3 dropped']);
    for (const s of link.sent) s.delivered();
    await outbox.settled();
    expect(file.kept()).toEqual([]);
  });

  it('picks up what the file held after a restart, giving an older agent id-less events an id kept with them', async () => {
    const file = memoryFile();
    const old: DeviceEvent = { ...event(1) };
    delete old.id;
    file.text = JSON.stringify({ version: 1, events: [old, event(2)], dropped: 0 });
    const outbox = new EventOutbox('state', 10, file);
    await outbox.load();
    const ids = outbox.events.map((e) => e.id);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(uuid(2));
    expect((JSON.parse(file.text) as { events: DeviceEvent[] }).events.map((e) => e.id)).toEqual(ids);
  });

  it('refuses to keep an invalid event rather than one the link would never send', async () => {
    const outbox = outboxOn(memoryFile(), new HeldLink());
    await expect(outbox.push({ ...event(1), at: 'yesterday' })).rejects.toThrow(/invalid update-phase event/);
    expect(outbox.size).toBe(0);
  });
});
