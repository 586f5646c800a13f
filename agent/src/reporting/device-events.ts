import { randomUUID } from 'node:crypto';
import { PROTOCOL_SCHEMA, type Command, type DeviceEvent, toStorableText } from '@flotilla/shared/device';
import type { EventLink, EventOutbox } from '../link/outbox';
import type { Clock } from '../support/clock';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import type { Phase, Slot } from '../update/machine';

/** Its id is given here, before the outbox keeps it: every copy later sent again is stored once. */
export function eventBody(kind: DeviceEvent['kind'], message: string, at: Date, id: string = randomUUID()): DeviceEvent {
  return { schema: PROTOCOL_SCHEMA, id, at: at.toISOString(), kind, message: toStorableText(message, 2_000) };
}

/** The rev and release an event is about: the slot's, or the release named when there is no slot (OS and agent updates). */
export function slotFields(slot: Slot | null, phase?: Phase, releaseId?: string): Pick<DeviceEvent, 'rev' | 'releaseId' | 'phase'> {
  return {
    ...(slot ? { rev: slot.rev } : {}),
    ...(slot?.release ? { releaseId: slot.release.id } : releaseId ? { releaseId } : {}),
    ...(phase ? { phase } : {}),
  };
}

/** The `command` event's text: what ran, with which arguments, and how it ended, on one line. */
export function commandEventMessage(command: Command, outcome: string): string {
  const args = Object.entries(command.args)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${command.name} ${args} (${command.id}): ${outcome}`.replace(/\s+/g, ' ');
}

export interface DeviceEventsDeps {
  clock: Clock;
  logger: Logger;
  /** Keeps every event until the broker acknowledged it, and sends it. */
  outbox: Pick<EventOutbox, 'push' | 'attach'>;
}

/** Raises the device's events: each goes to the outbox, on disk, which sends it once written (`EventOutbox`). */
export class DeviceEvents {
  constructor(private readonly deps: DeviceEventsDeps) {}

  about(kind: DeviceEvent['kind'], message: string, slot: Slot | null, phase?: Phase, releaseId?: string): void {
    this.send({ ...this.body(kind, message), ...slotFields(slot, phase, releaseId) });
  }

  withRev(kind: DeviceEvent['kind'], message: string, rev: number | undefined): void {
    this.send({ ...this.body(kind, message), ...(rev !== undefined ? { rev } : {}) });
  }

  /** From the agent's start: the outbox sends through `link`, and tells its overflow in an `outbox-overflow` event. */
  sendThrough(link: EventLink): void {
    this.deps.outbox.attach(link, {
      overflow: (dropped) =>
        this.body(
          'outbox-overflow',
          `${dropped} event(s) were dropped while the control plane was unreachable or did not acknowledge them`,
        ),
      logger: this.deps.logger,
    });
  }

  body(kind: DeviceEvent['kind'], message: string): DeviceEvent {
    return eventBody(kind, message, this.deps.clock.now());
  }

  private send(body: DeviceEvent): void {
    this.deps.outbox.push(body).catch((err: unknown) => this.deps.logger.error('could not keep an event', { error: errorMessage(err) }));
  }
}
