import { z } from 'zod';
import { EndorsedReleaseKey } from '../../api/signing-keys';
import { ReleaseSignature } from '../../releases/signing';
import { TEXT_LIMITS, storableString } from '../storable';
import { MAX_PAYLOAD_BYTES } from './envelope';
import { schema, text, timestamp } from './fields';

export const COMMANDS = ['reboot', 'restart-component', 'logs', 'rollback', 'identify'] as const;
export const Command = z.object({
  schema,
  id: z.string().min(1).max(64),
  name: z.enum(COMMANDS),
  args: z.record(z.string(), z.string()).default({}),
});
export type Command = z.infer<typeof Command>;

/**
 * What the control plane signs for one command (`sealCommand`, `command-signing.ts`): the command
 * plus whom it is for and until when, so that a signed command cannot be run on another device,
 * after the operator stopped waiting for it, or twice. A `rollback` names the rev on trial it ends
 * (`args.rev`), so a late one cannot end a later update.
 */
export const CommandStatement = Command.extend({
  /** The device this command is for; any other device refuses it. */
  deviceId: z.string().min(1).max(64),
  issuedAt: timestamp,
  /** After this the command is refused: the operator has been told it timed out. */
  expiresAt: timestamp,
  /** The signing key's rotation chain, as `desired` carries it: a device that missed a rotation can still verify. */
  keyEndorsements: z.array(EndorsedReleaseKey).max(256).optional(),
  /** Keys the control plane revoked: never accepted for a command, even before a `desired` says so. */
  revokedKeys: z.array(z.string().min(1).max(128)).max(256).optional(),
});
export type CommandStatement = z.infer<typeof CommandStatement>;

/** The `cmd` message on the wire: the exact JSON text of a `CommandStatement` and one signature over it. */
export const SignedCommand = z.object({
  schema,
  statement: z.string().max(MAX_PAYLOAD_BYTES),
  signature: ReleaseSignature,
});
export type SignedCommand = z.infer<typeof SignedCommand>;

export const CommandResult = z.object({
  schema,
  id: storableString(64).min(1),
  ok: z.boolean(),
  output: storableString(TEXT_LIMITS.output).optional(),
  error: text.optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;
