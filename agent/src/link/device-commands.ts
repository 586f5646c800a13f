import { PROTOCOL_SCHEMA, type Command, type CommandResult } from '@flotilla/shared/device';
import type { CommandGate, CommandOutcome } from '../admission/command-gate';
import { commandEventMessage, type DeviceEvents } from '../reporting/device-events';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { runCommand, type CommandDeps } from './commands';

export interface DeviceCommandsDeps extends CommandDeps {
  /** Judges every `cmd` message from the network; without it the device runs none. */
  gate: Pick<CommandGate, 'admit'> | undefined;
  events: Pick<DeviceEvents, 'about'>;
  logger: Logger;
}

/**
 * The commands a device runs: from the network once the command gate admitted them, or from the
 * technician's local CLI (which the socket's permissions guard, not a signature). Each leaves a
 * `command` event behind, so the device's history shows who did what, refusals included.
 */
export class DeviceCommands {
  constructor(private readonly deps: DeviceCommandsDeps) {}

  async run(command: Command): Promise<CommandResult> {
    try {
      const result = await runCommand(command, this.deps);
      this.deps.events.about('command', commandEventMessage(command, 'ok'), null);
      return result;
    } catch (err) {
      this.deps.events.about('command', commandEventMessage(command, errorMessage(err)), null);
      throw err;
    }
  }

  /**
   * A `cmd` message: its result, a refusal's when the command's id could be read (so the sender
   * hears why), or undefined when there is nobody to answer.
   */
  async receive(bytes: Uint8Array | string): Promise<CommandResult | undefined> {
    const outcome = this.admit(bytes);
    if (!outcome.ok) {
      this.deps.logger.warn('command refused', { code: outcome.code, reason: outcome.reason });
      this.deps.events.about('command', `refused (${outcome.code}): ${outcome.reason}`, null);
      return outcome.id === undefined
        ? undefined
        : { schema: PROTOCOL_SCHEMA, id: outcome.id, ok: false, error: `${outcome.code}: ${outcome.reason}` };
    }
    const { id, name, args } = outcome.statement;
    try {
      return await this.run({ schema: PROTOCOL_SCHEMA, id, name, args });
    } catch (err) {
      return { schema: PROTOCOL_SCHEMA, id, ok: false, error: errorMessage(err) };
    }
  }

  /** The gate's judgement; a gate that cannot judge (its key file damaged) refuses, it does not throw. */
  private admit(bytes: Uint8Array | string): CommandOutcome {
    if (!this.deps.gate)
      return { ok: false, code: 'unsigned', reason: 'this agent has no command gate configured; commands from the network are refused' };
    try {
      return this.deps.gate.admit(bytes);
    } catch (err) {
      return { ok: false, code: 'unknown-key', reason: `cannot check the command's signature: ${errorMessage(err)}` };
    }
  }
}
