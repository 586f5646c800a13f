import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PROTOCOL_SCHEMA, decodePayload, encodePayload, type CommandResultView, type SendCommandRequest } from '@flotilla/shared';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { DevicesService } from '../devices/devices.service';
import { CommandTimeoutError, DeviceOfflineError } from './commands.errors';
import { PendingCommands } from './pending-commands';

/**
 * Sends a command to a connected device and waits for its `cmd/res` with the same id. Commands
 * are not queued for offline devices: a reboot or logs request hours later is rarely wanted.
 */
@Injectable()
export class CommandsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Commands');
  private readonly pending = new PendingCommands();

  constructor(
    private readonly devices: DevicesService,
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
  ) {}

  /** Every replica sees every result: the one that sent the command holds its pending answer. */
  onModuleInit(): void {
    this.broker.onBroadcast('cmd/res', ({ deviceId, payload }) => {
      const decoded = decodePayload('cmd/res', payload);
      if (!decoded.ok) return this.logger.warn(`device ${deviceId}: invalid command result dropped: ${decoded.reason}`);
      this.pending.settle(deviceId, decoded.value);
    });
  }

  beforeApplicationShutdown(): void {
    this.pending.cancelAll();
  }

  async send(deviceId: string, request: SendCommandRequest): Promise<CommandResultView> {
    const device = await this.devices.get(deviceId);
    if (!device.online) throw new DeviceOfflineError(deviceId);
    const id = `cmd_${randomUUID()}`;
    const started = performance.now();
    // Waiting starts before sending, so an instant answer is not missed.
    const answer = this.pending.wait(id, device.id, request.timeoutMs);
    const command = encodePayload('cmd', { schema: PROTOCOL_SCHEMA, id, name: request.name, args: request.args });
    await this.broker.publishToDevice(device.id, 'cmd', command);
    const result = await answer;
    if (!result) throw new CommandTimeoutError(device.id, request.name, request.timeoutMs);
    return {
      id,
      deviceId: device.id,
      name: request.name,
      ok: result.ok,
      output: result.output ?? null,
      error: result.error ?? null,
      durationMs: Math.round(performance.now() - started),
    };
  }
}
