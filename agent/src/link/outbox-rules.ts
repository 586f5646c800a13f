import type { DeviceEvent } from '@flotilla/shared/device';

/** An event as the outbox keeps it: always with its id, by which the broker's acknowledgment removes it. */
export type KeptEvent = DeviceEvent & { id: string };

/**
 * What the outbox file holds: every event not yet acknowledged by the broker, oldest first,
 * and how many were dropped to keep within the capacity and not yet reported.
 */
export interface OutboxContents {
  events: KeptEvent[];
  dropped: number;
}

export const EMPTY_OUTBOX: OutboxContents = { events: [], dropped: 0 };

/**
 * The overflow report stands outside the capacity and is never dropped itself: dropping it would
 * lose the count it carries. There is at most one (`withOverflowReport`), so the outbox holds at
 * most `capacity + 1` events.
 */
const isReport = (event: DeviceEvent): boolean => event.kind === 'outbox-overflow';

/** Appends, dropping the oldest events beyond `capacity` and counting them. */
export function enqueue(outbox: OutboxContents, event: KeptEvent, capacity: number): OutboxContents {
  const events = [...outbox.events, event];
  let over = events.filter((e) => !isReport(e)).length - capacity;
  if (over <= 0) return { events, dropped: outbox.dropped };
  const dropped = outbox.dropped + over;
  return {
    events: events.filter((e) => {
      if (over > 0 && !isReport(e)) {
        over--;
        return false;
      }
      return true;
    }),
    dropped,
  };
}

/**
 * The drops not reported yet become one `outbox-overflow` event at the end, unless a report is
 * still unacknowledged: the drops since wait for it, so that reports cannot crowd out events.
 */
export function withOverflowReport(outbox: OutboxContents, report: (dropped: number) => KeptEvent): OutboxContents {
  if (outbox.dropped === 0 || outbox.events.some(isReport)) return outbox;
  return { events: [...outbox.events, report(outbox.dropped)], dropped: 0 };
}

/**
 * The events to hand to the MQTT client now, in order: none handed already in this process (the
 * client resends its own unacknowledged ones after a reconnect, so another copy would travel the same
 * connection twice) and none not yet on disk (a crash before the write would lose one already sent).
 */
export function dueEvents(outbox: OutboxContents, handed: ReadonlySet<string>, unwritten: ReadonlySet<string>): KeptEvent[] {
  return outbox.events.filter((e) => !handed.has(e.id) && !unwritten.has(e.id));
}

/** Removes the event the broker acknowledged; one dropped meanwhile leaves nothing to remove. */
export function acknowledge(outbox: OutboxContents, id: string): OutboxContents {
  const events = outbox.events.filter((e) => e.id !== id);
  return events.length === outbox.events.length ? outbox : { events, dropped: outbox.dropped };
}
