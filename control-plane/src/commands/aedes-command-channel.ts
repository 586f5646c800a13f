import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  TOPIC_ROOT,
  decodePayload,
  deviceTopic,
  encodePayload,
  parseDeviceTopic,
  type Command,
  type CommandResult,
} from '@flotilla/shared';
import type { Aedes } from 'aedes';
import { AEDES } from '../broker/mqtt-server';
import type { CommandChannel } from './command-channel';

const RESULTS = `${TOPIC_ROOT}/d/+/cmd/res`;

/**
 * Commands over the in-process aedes broker: publishes `…/cmd` and subscribes inside the broker
 * to every `…/cmd/res` (the uplink router only logs them). The broker's ACL already guarantees
 * a result on `d/{id}/cmd/res` was published by device {id}.
 */
@Injectable()
export class AedesCommandChannel implements CommandChannel {
  private readonly logger = new Logger('Commands');
  private listener: ((deviceId: string, result: CommandResult) => void) | undefined;
  private subscribed = false;
  private readonly deliver = (packet: { topic: string; payload: Buffer | string }, done: () => void): void => {
    done();
    const parsed = parseDeviceTopic(packet.topic);
    if (!parsed) return;
    const decoded = decodePayload('cmd/res', packet.payload);
    if (!decoded.ok) {
      this.logger.warn(`device ${parsed.deviceId}: invalid command result dropped: ${decoded.reason}`);
      return;
    }
    this.listener?.(parsed.deviceId, decoded.value);
  };

  constructor(@Inject(AEDES) private readonly broker: Aedes) {}

  onResult(listener: (deviceId: string, result: CommandResult) => void): void {
    this.listener = listener;
    if (this.subscribed) return;
    this.subscribed = true;
    this.broker.subscribe(RESULTS, this.deliver, () => undefined);
  }

  send(deviceId: string, command: Command): Promise<void> {
    const packet = {
      cmd: 'publish' as const,
      topic: deviceTopic(deviceId, 'cmd'),
      payload: Buffer.from(encodePayload('cmd', command)),
      qos: 1 as const,
      retain: false,
      dup: false,
    };
    return new Promise((resolve, reject) => this.broker.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  /** Not awaited: at shutdown the broker may already be closed, and then never calls back. */
  async close(): Promise<void> {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.broker.unsubscribe(RESULTS, this.deliver, () => undefined);
  }
}
