import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent } from '@flotilla/shared';
import { EventOutbox } from './outbox';

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

describe('EventOutbox', () => {
  it('keeps events across a restart, bounded, and sends them with the overflow count once the link is back', async () => {
    const before = new EventOutbox(dir, 3);
    for (const n of [1, 2, 3, 4, 5]) await before.push(event(n));

    const after = new EventOutbox(dir, 3);
    await after.load();
    expect(after.size).toBe(3);
    const sent: DeviceEvent[] = [];
    await after.drain((e) => sent.push(e), overflow);
    expect(sent.map((e) => `${e.kind} ${e.message}`)).toEqual([
      'update-phase e3',
      'update-phase e4',
      'update-phase e5',
      'outbox-overflow 2 dropped',
    ]);

    const again = new EventOutbox(dir, 3);
    await again.load();
    expect(again.size).toBe(0);
    await again.drain((e) => sent.push(e), overflow);
    expect(sent).toHaveLength(4);
  });
});
