import { join } from 'node:path';
import { z } from 'zod';
import { DeviceEvent } from '@flotilla/shared/device';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';

/** What waits to be sent: the events in order, and how many older ones were dropped to make room. */
export interface OutboxContents {
  events: DeviceEvent[];
  dropped: number;
}

export const EMPTY_OUTBOX: OutboxContents = { events: [], dropped: 0 };

/** Appends, dropping the oldest events beyond `capacity` and counting them. Pure. */
export function enqueue(outbox: OutboxContents, event: DeviceEvent, capacity: number): OutboxContents {
  const events = [...outbox.events, event];
  const over = Math.max(0, events.length - capacity);
  return { events: events.slice(over), dropped: outbox.dropped + over };
}

const OutboxFile = z.object({ version: z.literal(1), events: z.array(DeviceEvent), dropped: z.number().int().nonnegative() });

/**
 * Events raised while the control plane is unreachable, kept on disk (so a reboot while
 * offline loses none) up to `capacity`; the overflow is counted and reported when the
 * link is back, never silent (an `outbox-overflow` event).
 */
export class EventOutbox {
  readonly path: string;
  private contents: OutboxContents = EMPTY_OUTBOX;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    readonly capacity = 500,
  ) {
    this.path = join(stateDir, 'outbox.json');
  }

  async load(): Promise<void> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = OutboxFile.safeParse(json);
    // An unreadable outbox is counted as lost events rather than stopping the agent.
    this.contents = parsed.success ? { events: parsed.data.events, dropped: parsed.data.dropped } : { events: [], dropped: 1 };
  }

  get size(): number {
    return this.contents.events.length;
  }

  push(event: DeviceEvent): Promise<void> {
    return this.serial(async () => {
      this.contents = enqueue(this.contents, event, this.capacity);
      await this.save();
    });
  }

  /** Hands every waiting event to `send`, oldest first, then the overflow count if any, and empties the outbox. */
  drain(send: (event: DeviceEvent) => void, overflow: (dropped: number) => DeviceEvent): Promise<void> {
    return this.serial(async () => {
      const { events, dropped } = this.contents;
      if (events.length === 0 && dropped === 0) return;
      events.forEach(send);
      if (dropped > 0) send(overflow(dropped));
      this.contents = EMPTY_OUTBOX;
      await this.save();
    });
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify({ version: 1, ...this.contents }));
  }

  private serial(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
