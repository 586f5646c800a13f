import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent } from '@flotilla/shared';
import { silentLogger } from '../support/logger';
import { EventOutbox, type EventLink } from './outbox';

/** Integration: the real file system in a temp dir. */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-outbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const event = (n: number): DeviceEvent => ({ schema: 1, at: '2026-11-27T12:00:00.000Z', kind: 'update-phase', message: `e${n}` });
const overflow = (dropped: number): DeviceEvent => ({ ...event(0), kind: 'outbox-overflow', message: `${dropped} dropped` });
const offline: EventLink = { connected: false, publish: () => undefined };

async function opened(capacity: number, link: EventLink): Promise<EventOutbox> {
  const outbox = new EventOutbox(dir, capacity);
  await outbox.load();
  outbox.attach(link, { overflow, logger: silentLogger });
  return outbox;
}

describe('EventOutbox', () => {
  it('keeps events across a restart, bounded; sends them with the overflow count once the link is back; forgets each once acknowledged', async () => {
    const before = await opened(3, offline);
    for (const n of [1, 2, 3, 4, 5]) await before.push(event(n));

    const sent: DeviceEvent[] = [];
    const acknowledging: EventLink = {
      connected: true,
      publish: (_channel, e, delivered) => {
        sent.push(e);
        delivered();
      },
    };
    const after = await opened(3, acknowledging);
    expect(after.size).toBe(3);
    after.pump();
    await after.settled();
    expect(sent.map((e) => `${e.kind} ${e.message}`)).toEqual([
      'update-phase e3',
      'update-phase e4',
      'update-phase e5',
      'outbox-overflow 2 dropped',
    ]);

    const again = await opened(3, acknowledging);
    expect(again.size).toBe(0);
    again.pump();
    await again.settled();
    expect(sent).toHaveLength(4);
  });

  it('keeps what the broker has not acknowledged across a restart, with the ids it was sent with', async () => {
    const sent: DeviceEvent[] = [];
    const unacknowledged: EventLink = { connected: true, publish: (_channel, e) => void sent.push(e) };
    const before = await opened(10, unacknowledged);
    for (const n of [1, 2]) await before.push(event(n));
    expect(sent.map((e) => e.message)).toEqual(['e1', 'e2']);

    const after = await opened(10, unacknowledged);
    after.pump();
    expect(sent.map((e) => e.message)).toEqual(['e1', 'e2', 'e1', 'e2']);
    expect(sent.slice(2).map((e) => e.id)).toEqual(sent.slice(0, 2).map((e) => e.id));
  });
});
