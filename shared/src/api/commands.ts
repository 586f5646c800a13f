import { z } from 'zod';
import { COMMANDS } from '../protocol/messages/commands';

/** `POST /api/v1/devices/:id/commands`: send a command and wait for its result. */
export const MAX_COMMAND_TIMEOUT_MS = 120_000;

export const SendCommandRequest = z
  .object({
    name: z.enum(COMMANDS),
    args: z.record(z.string(), z.string()).default({}),
    timeoutMs: z.number().int().min(100).max(MAX_COMMAND_TIMEOUT_MS).default(10_000),
  })
  .strict();
export type SendCommandRequest = z.infer<typeof SendCommandRequest>;

export const CommandResultView = z.object({
  id: z.string(),
  deviceId: z.string(),
  name: z.enum(COMMANDS),
  ok: z.boolean(),
  output: z.string().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
});
export type CommandResultView = z.infer<typeof CommandResultView>;
