import { join } from 'node:path';
import { z } from 'zod';
import { Desired } from '@flotilla/shared/device';

/**
 * The local control socket between the running agent and `flotilla-agent status|logs|
 * rollback|apply`: one JSON request line, one JSON reply line. The socket is 0600 in the
 * state directory, so only root (or the agent's user) on the device can use it; `apply`
 * still needs a release signed by a pinned key.
 */
export const CONTROL_SOCKET = 'agent.sock';

export function controlSocketPath(stateDir: string): string {
  return join(stateDir, CONTROL_SOCKET);
}

export const ControlRequest = z.discriminatedUnion('op', [
  z.object({ op: z.literal('status') }),
  z.object({
    op: z.literal('logs'),
    component: z.string().min(1),
    tail: z.number().int().positive().optional(),
    follow: z.number().int().positive().optional(),
  }),
  z.object({ op: z.literal('rollback') }),
  z.object({ op: z.literal('apply'), desired: Desired }),
]);
export type ControlRequest = z.infer<typeof ControlRequest>;

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };
