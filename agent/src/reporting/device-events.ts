import { randomUUID } from 'node:crypto';
import { PROTOCOL_SCHEMA, type Command, type DeviceEvent, toStorableText } from '@flotilla/shared/device';
import type { Uplink } from '../agent-deps';
import type { EventOutbox } from '../link/outbox';
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
  /** Where events wait while the control plane is unreachable. */
  outbox: Pick<EventOutbox, 'push'>;
  /** The link of the moment; absent before the agent starts. */
  uplink: () => Uplink | undefined;
}

/** Sends the device's events: straight away while connected, through the outbox otherwise. */
export class DeviceEvents {
  constructor(private readonly deps: DeviceEventsDeps) {}

  about(kind: DeviceEvent['kind'], message: string, slot: Slot | null, phase?: Phase, releaseId?: string): void {
    this.send({ ...this.body(kind, message), ...slotFields(slot, phase, releaseId) });
  }

  withRev(kind: DeviceEvent['kind'], message: string, rev: number | undefined): void {
    this.send({ ...this.body(kind, message), ...(rev !== undefined ? { rev } : {}) });
  }

  body(kind: DeviceEvent['kind'], message: string): DeviceEvent {
    return eventBody(kind, message, this.deps.clock.now());
  }

  private send(body: DeviceEvent): void {
    const uplink = this.deps.uplink();
    if (uplink?.connected) return uplink.publish('events', body);
    this.deps.outbox.push(body).catch((err: unknown) => this.deps.logger.error('could not keep an event', { error: errorMessage(err) }));
  }
}
