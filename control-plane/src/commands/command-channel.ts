import type { Command, CommandResult } from '@flotilla/shared';

/** How commands reach devices and results come back; the broker implements it, tests may fake it. */
export interface CommandChannel {
  /** Resolves once handed to the broker (QoS 1, not retained). */
  send(deviceId: string, command: Command): Promise<void>;
  /** Registers the one listener for validated results; `deviceId` comes from the topic, not the payload. */
  onResult(listener: (deviceId: string, result: CommandResult) => void): void;
  close(): Promise<void>;
}

export const COMMAND_CHANNEL = Symbol('CommandChannel');
