import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { decodePayload, encodePayload, type CommandResultView, type DeviceView, type SendCommandRequest } from '@flotilla/shared';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { DevicesService } from '../devices/devices.service';
import { SigningService } from '../signing/signing.service';
import { CommandTimeoutError, DeviceOfflineError, NothingOnTrialError } from './commands.errors';
import { PendingCommands } from './pending-commands';

/**
 * Sends a command to a connected device and waits for its `cmd/res` with the same id. Commands
 * are not queued for offline devices: a reboot or logs request hours later is rarely wanted.
 * Each is signed for its device and holds only as long as the caller waits for it (a device
 * refuses it after that, give or take its clock's allowance), so one delivered late, after the
 * caller was told it timed out, does not run.
 */
@Injectable()
export class CommandsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Commands');
  private readonly pending = new PendingCommands();

  constructor(
    private readonly devices: DevicesService,
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
    private readonly signing: SigningService,
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
    const args = request.name === 'rollback' ? { ...request.args, rev: request.args.rev ?? onTrial(device) } : request.args;
    const id = `cmd_${randomUUID()}`;
    const started = performance.now();
    // Waiting starts before sending, so an instant answer is not missed.
    const answer = this.pending.wait(id, device.id, request.timeoutMs);
    const command = encodePayload('cmd', this.signing.sealCommand({ id, name: request.name, args }, device.id, request.timeoutMs));
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

/** The rev a rollback ends: the one the device reports on trial, so that a late rollback cannot end a later update. */
function onTrial(device: DeviceView): string {
  const update = device.reported?.update;
  if (!update?.candidate) throw new NothingOnTrialError(device.id, update?.phase ?? null);
  return String(update.candidate.rev);
}
