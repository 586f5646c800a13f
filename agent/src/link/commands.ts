import { MAX_PAYLOAD_BYTES, PROTOCOL_SCHEMA, type Command, type CommandResult } from '@flotilla/shared/device';
import type { ContainerRuntime } from '../runtime/container-runtime';
import { LABEL } from '../runtime/labels';
import { AgentError } from '../support/errors';
import type { Logger } from '../support/logger';

export class CommandRefusedError extends AgentError {
  readonly code = 'command-refused';
}

/** A first cut of the raw text; the result is fitted to `cmd/res` as encoded when it is sent (command-result.ts). */
const MAX_OUTPUT_BYTES = MAX_PAYLOAD_BYTES - 8 * 1024;
const MAX_LOG_LINES = 1_000;

/** Runs one command from the control plane. Failures are thrown; the link turns them into `ok: false`. */
export interface CommandDeps {
  runtime: ContainerRuntime;
  logger: Logger;
  /** Ends the update on trial now (throws when there is none). */
  rollback: (reason: string) => void;
  /** The rev of the update on trial (from verify until commit or rollback), null when there is none. */
  onTrial: () => number | null;
}

/** Longest `logs` follow: the reply has to come back within a command's patience. */
const MAX_FOLLOW_SECONDS = 60;

export async function runCommand(command: Command, deps: CommandDeps): Promise<CommandResult> {
  const ok = (output?: string): CommandResult => ({
    schema: PROTOCOL_SCHEMA,
    id: command.id,
    ok: true,
    ...(output !== undefined ? { output } : {}),
  });
  deps.logger.info('command', { id: command.id, name: command.name, args: command.args });
  switch (command.name) {
    case 'restart-component': {
      const container = await managedContainer(deps.runtime, command.args.component);
      await deps.runtime.restart(container);
      return ok(`restarted ${container}`);
    }
    case 'logs': {
      const container = await managedContainer(deps.runtime, command.args.component);
      const tail = Math.min(MAX_LOG_LINES, Math.max(1, Number.parseInt(command.args.tail ?? '100', 10) || 100));
      const follow = command.args.follow === undefined ? undefined : Number.parseInt(command.args.follow, 10);
      if (follow !== undefined && !(follow >= 1 && follow <= MAX_FOLLOW_SECONDS))
        throw new CommandRefusedError(`argument "follow" must be a number of seconds from 1 to ${MAX_FOLLOW_SECONDS}`);
      const options = follow === undefined ? { tail } : { tail, followMs: follow * 1_000 };
      return ok(lastBytes(await deps.runtime.logs(container, options), MAX_OUTPUT_BYTES));
    }
    case 'rollback': {
      // The control plane names the rev it means to end: a late rollback must not end a later update.
      const rev = command.args.rev;
      const onTrial = deps.onTrial();
      if (rev !== undefined && rev !== String(onTrial))
        throw new CommandRefusedError(
          `rollback of rev ${rev} refused: ${onTrial === null ? 'no update is on trial' : `the update on trial is rev ${onTrial}`}; nothing was rolled back`,
        );
      deps.rollback(`rollback requested by command ${command.id}`);
      return ok('rolling back to the active slot');
    }
    case 'identify':
      // No board here has an LED the agent may drive yet; the log line lets a technician match device and screen.
      deps.logger.info('identify requested: this is the device', { id: command.id });
      return ok('identify logged on the device');
    case 'reboot':
      throw new CommandRefusedError('reboot is not available in this agent build (no OS backend configured); reboot the board by hand');
  }
}

async function managedContainer(runtime: ContainerRuntime, component: string | undefined): Promise<string> {
  if (!component) throw new CommandRefusedError('argument "component" is required');
  const found = (await runtime.listContainers()).find((c) => c.labels[LABEL.component] === component);
  if (!found) throw new CommandRefusedError(`component "${component}" has no container on this device`);
  return found.name;
}

/** The end of `text` within `maxBytes`: for logs the newest lines matter most. */
function lastBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const cut = bytes.subarray(bytes.length - maxBytes).toString('utf8');
  return cut.slice(cut.indexOf('\n') + 1);
}
