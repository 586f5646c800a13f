import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { PROTOCOL_SCHEMA, type CommandResultView, type SendCommandRequest } from '@flotilla/shared';
import { DevicesService } from '../devices/devices.service';
import { COMMAND_CHANNEL, type CommandChannel } from './command-channel';
import { CommandTimeoutError, DeviceOfflineError } from './commands.errors';
import { PendingCommands } from './pending-commands';

/**
 * Sends a command to a connected device and waits for its `cmd/res` with the same id. Commands
 * are not queued for offline devices: a reboot or logs request hours later is rarely wanted.
 */
@Injectable()
export class CommandsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly pending = new PendingCommands();

  constructor(
    private readonly devices: DevicesService,
    @Inject(COMMAND_CHANNEL) private readonly channel: CommandChannel,
  ) {}

  onModuleInit(): void {
    this.channel.onResult((deviceId, result) => this.pending.settle(deviceId, result));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.pending.cancelAll();
    await this.channel.close();
  }

  async send(deviceId: string, request: SendCommandRequest): Promise<CommandResultView> {
    const device = await this.devices.get(deviceId);
    if (!device.online) throw new DeviceOfflineError(deviceId);
    const id = `cmd_${randomUUID()}`;
    const started = performance.now();
    // Waiting starts before sending, so an instant answer is not missed.
    const answer = this.pending.wait(id, device.id, request.timeoutMs);
    await this.channel.send(device.id, { schema: PROTOCOL_SCHEMA, id, name: request.name, args: request.args });
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
