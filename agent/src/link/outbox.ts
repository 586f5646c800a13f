import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { DeviceEvent } from '@flotilla/shared/device';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { EMPTY_OUTBOX, acknowledge, dueEvents, enqueue, withOverflowReport, type KeptEvent, type OutboxContents } from './outbox-rules';

/** Where the outbox sends: the MQTT link in production (`MqttLink`). */
export interface EventLink {
  readonly connected: boolean;
  /**
   * `delivered` once the broker acknowledged the event (its PUBACK); `failed` when the client gave it
   * up and will not send it again itself. Until either, the client holds it (and resends it after a reconnect).
   */
  publish(channel: 'events', event: DeviceEvent, delivered: () => void, failed: (err: Error) => void): void;
}

/** The outbox's file, replaced whole each time; a memory one in tests. */
export interface OutboxStore {
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

export interface OutboxReporting {
  /** The `outbox-overflow` event telling how many events were dropped. */
  overflow: (dropped: number) => DeviceEvent;
  logger: Logger;
}

const OutboxFile = z.object({ version: z.literal(1), events: z.array(DeviceEvent), dropped: z.number().int().nonnegative() });

/**
 * Every event of the device, kept on disk from when it happens until the broker acknowledged it,
 * so that neither a reconnect nor an agent restart (crash, power cut, self-update) loses one handed
 * to the MQTT client but not acknowledged. Bounded by `capacity`: the oldest are dropped beyond it,
 * counted, and told in an `outbox-overflow` event, never silently. The rules are in `outbox-rules.ts`.
 */
export class EventOutbox {
  readonly path: string;
  private readonly store: OutboxStore;
  private contents: OutboxContents = EMPTY_OUTBOX;
  /** Handed to this process's MQTT client and not settled: the client resends those itself after a reconnect. */
  private readonly handed = new Set<string>();
  /** Kept since the last write began: not sent before they are on disk. */
  private readonly unwritten = new Set<string>();
  private dirty = false;
  private writing: Promise<void> | undefined;
  private link: EventLink | undefined;
  private reporting: OutboxReporting | undefined;

  constructor(
    stateDir: string,
    readonly capacity = 500,
    store?: OutboxStore,
  ) {
    this.path = join(stateDir, 'outbox.json');
    const path = this.path;
    this.store = store ?? { read: () => readFileIfExists(path), write: (text) => writeFileAtomic(path, text) };
  }

  async load(): Promise<void> {
    const text = await this.store.read();
    if (text === undefined) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = OutboxFile.safeParse(json);
    // An unreadable outbox is counted as lost events rather than stopping the agent.
    if (!parsed.success) {
      this.contents = { events: [], dropped: 1 };
      return;
    }
    const events = parsed.data.events.map(withId);
    this.contents = { events, dropped: parsed.data.dropped };
    // An older agent's events had no id: written with the ones given now, so that a copy sent again after another restart is stored once.
    if (parsed.data.events.some((e) => e.id === undefined)) await this.persist();
  }

  get size(): number {
    return this.contents.events.length;
  }

  /** What waits for the broker's acknowledgment, oldest first. */
  get events(): readonly KeptEvent[] {
    return this.contents.events;
  }

  /** Sends through `link` from now on: what is due whenever it is connected, and the overflow count through `reporting`. */
  attach(link: EventLink, reporting: OutboxReporting): void {
    this.link = link;
    this.reporting = reporting;
  }

  /** Resolves once the event is on disk; it is sent after that, as soon as the link is connected. */
  push(event: DeviceEvent): Promise<void> {
    // Checked here rather than when sent: one the link refused would wait in the outbox for good.
    const parsed = DeviceEvent.safeParse(event);
    if (!parsed.success) return Promise.reject(new Error(`an invalid ${event.kind} event is not kept: ${parsed.error.message}`));
    const kept = withId(parsed.data);
    this.contents = enqueue(this.contents, kept, this.capacity);
    this.unwritten.add(kept.id);
    return this.persist();
  }

  /**
   * Hands every event due to the link when it is connected: after every (re)connect, and after
   * every write. One the client gave up is sent again at the next call, not at once: a client that
   * fails at once would otherwise spin.
   */
  pump(): void {
    const link = this.link;
    if (!link?.connected) return;
    this.reportOverflow();
    for (const event of dueEvents(this.contents, this.handed, this.unwritten)) {
      this.handed.add(event.id);
      link.publish(
        'events',
        event,
        () => this.delivered(event.id),
        (err) => {
          this.handed.delete(event.id);
          this.reporting?.logger.warn('an event was not sent; it is sent again after the next connect', { error: errorMessage(err) });
        },
      );
    }
  }

  /** Resolves once every change so far is on disk (or its write failed). */
  async settled(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
  }

  private reportOverflow(): void {
    const overflow = this.reporting?.overflow;
    if (!overflow) return;
    const reported = withOverflowReport(this.contents, (dropped) => withId(overflow(dropped)));
    if (reported === this.contents) return;
    this.contents = reported;
    this.unwritten.add(reported.events.at(-1)!.id);
    this.persist().catch((err: unknown) => this.reporting?.logger.error('could not keep the overflow count', { error: errorMessage(err) }));
  }

  private delivered(id: string): void {
    this.handed.delete(id);
    const next = acknowledge(this.contents, id);
    if (next === this.contents) return;
    this.contents = next;
    // Not waited for: if a crash comes first, the event is sent again after the restart and stored once.
    this.persist().catch((err: unknown) =>
      this.reporting?.logger.warn('could not remove an acknowledged event from the outbox', { error: errorMessage(err) }),
    );
  }

  /**
   * One write at a time, each of the whole outbox as it is when the write starts: the changes made
   * meanwhile (a burst of events, a run of acknowledgments) go out together in the next one.
   */
  private persist(): Promise<void> {
    this.dirty = true;
    this.writing ??= this.writeAll();
    return this.writing;
  }

  private async writeAll(): Promise<void> {
    let failure: unknown;
    try {
      // What the code running now keeps or removes as well joins this write.
      await Promise.resolve();
      while (this.dirty) {
        this.dirty = false;
        const snapshot = this.contents;
        const covered = [...this.unwritten];
        failure = undefined;
        try {
          await this.store.write(JSON.stringify({ version: 1, ...snapshot }));
        } catch (err) {
          failure = err;
        }
        // Sent even when the write failed (a full or failing card): kept in memory, it still has its chance until a restart.
        for (const id of covered) this.unwritten.delete(id);
        this.pump();
      }
    } finally {
      this.writing = undefined;
    }
    if (failure !== undefined) throw failure;
  }
}

function withId(event: DeviceEvent): KeptEvent {
  return { ...event, id: event.id ?? randomUUID() };
}
