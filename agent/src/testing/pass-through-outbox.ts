import type { DeviceEvent } from '@flotilla/shared/device';
import type { EventLink, EventOutbox } from '../link/outbox';

/**
 * Keeps nothing: hands each event to the link at once while it is connected, as the agent did
 * before its outbox kept every event. For tests that read events off an uplink and are not about
 * the outbox (agent/src/link/event-delivery.int.test.ts is).
 */
export class PassThroughOutbox implements Pick<EventOutbox, 'push' | 'attach' | 'pump' | 'settled'> {
  private link: EventLink | undefined;

  attach(link: EventLink): void {
    this.link = link;
  }

  push(event: DeviceEvent): Promise<void> {
    if (this.link?.connected) this.link.publish('events', event, noop, noop);
    return Promise.resolve();
  }

  pump(): void {
    return undefined;
  }

  settled(): Promise<void> {
    return Promise.resolve();
  }
}

const noop = (): void => undefined;
