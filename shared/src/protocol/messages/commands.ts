import { z } from 'zod';
import { TEXT_LIMITS, storableString } from '../storable';
import { schema, text } from './fields';

export const COMMANDS = ['reboot', 'restart-component', 'logs', 'rollback', 'identify'] as const;
export const Command = z.object({
  schema,
  id: z.string().min(1).max(64),
  name: z.enum(COMMANDS),
  args: z.record(z.string(), z.string()).default({}),
});
export type Command = z.infer<typeof Command>;

export const CommandResult = z.object({
  schema,
  id: storableString(64).min(1),
  ok: z.boolean(),
  output: storableString(TEXT_LIMITS.output).optional(),
  error: text.optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;
