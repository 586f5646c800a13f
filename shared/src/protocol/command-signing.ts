import { sign, type KeyObject } from 'node:crypto';
import type { ReleaseKey, ReleaseSignature } from '../releases/signing';
import { signingKey, verifiesWith } from './desired-signing';
import { decodePayload } from './messages/channels';
import { CommandStatement, type SignedCommand } from './messages/commands';
import { PROTOCOL_SCHEMA } from './messages/envelope';

/**
 * A command is signed as a desired state is (`desired-signing.ts`): the exact UTF-8 text of its
 * statement, by the control plane's current key, behind a domain string of its own, so that no
 * other signature of the same key (a release, a desired state's root) can pass for a command, nor
 * a command for one of them. A command goes to one device at a time: no batch, no hash tree.
 */
export const COMMAND_SIGNATURE_DOMAIN = 'flotilla-command-v1\n';

export function commandSigningPayload(statement: string): Buffer {
  return Buffer.concat([Buffer.from(COMMAND_SIGNATURE_DOMAIN, 'utf8'), Buffer.from(statement, 'utf8')]);
}

/**
 * How far past its own deadline a command is still taken: a device's clock may run some minutes
 * ahead (a board without a real-time clock, before its time is synchronised).
 */
export const COMMAND_CLOCK_ALLOWANCE_MS = 5 * 60_000;

/** Seals a command with `signText`, which signs the statement's exact text behind `COMMAND_SIGNATURE_DOMAIN`. */
export function sealCommandWith(statement: CommandStatement, signText: (text: string) => ReleaseSignature): SignedCommand {
  const text = JSON.stringify(statement);
  return { schema: PROTOCOL_SCHEMA, statement: text, signature: signText(text) };
}

export function sealCommand(statement: CommandStatement, privateKey: KeyObject, keyId: string): SignedCommand {
  return sealCommandWith(statement, (text) => ({
    alg: 'ed25519',
    keyId,
    value: sign(null, commandSigningPayload(text), privateKey).toString('base64'),
  }));
}

/** Why a device refuses a command; a refused command runs nothing. */
export type CommandRefusalCode = 'unsigned' | 'invalid' | 'unknown-key' | 'revoked-key' | 'forged' | 'wrong-device' | 'stale' | 'replayed';

/** `id`: the command's, when it could be read, so the sender still hears back. */
export interface CommandRefusal {
  ok: false;
  code: CommandRefusalCode;
  reason: string;
  id?: string;
}

export type ReadCommand = { ok: true; envelope: SignedCommand; statement: CommandStatement } | CommandRefusal;

/** Decodes the envelope and the statement inside, without checking the signature yet. Never throws. */
export function readSignedCommand(bytes: Uint8Array | string): ReadCommand {
  const decoded = decodePayload('cmd', bytes);
  if (!decoded.ok) {
    const unsigned = /(^|; )(signature|statement)[.:]/.test(decoded.reason);
    return {
      ok: false,
      code: unsigned ? 'unsigned' : 'invalid',
      reason: unsigned
        ? `not a signed command (${decoded.reason}); only a command signed by the control plane is run`
        : `not a command message: ${decoded.reason}`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(decoded.value.statement);
  } catch (e) {
    return { ok: false, code: 'invalid', reason: `signed command is not JSON: ${(e as Error).message}` };
  }
  const parsed = CommandStatement.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    const id = (json as { id?: unknown } | null)?.id;
    return {
      ok: false,
      code: 'invalid',
      reason: `signed statement is not a command: ${issues}`,
      ...(typeof id === 'string' && id.length > 0 && id.length <= 64 ? { id } : {}),
    };
  }
  return { ok: true, envelope: decoded.value, statement: parsed.data };
}

/** Checks that the statement's exact text is signed by a key of `trusted`, not revoked. Never throws. */
export function verifyCommandSignature(
  envelope: SignedCommand,
  trusted: readonly ReleaseKey[],
  revoked: ReadonlySet<string> = new Set(),
): { ok: true; keyId: string } | CommandRefusal {
  const found = signingKey('command', envelope.signature.keyId, trusted, revoked);
  if (!found.ok) return found;
  return verifiesWith(found.key, commandSigningPayload(envelope.statement), envelope.signature.value)
    ? { ok: true, keyId: found.key.keyId }
    : { ok: false, code: 'forged', reason: `command signature does not verify with key ${found.key.keyId}: altered or forged` };
}

export interface CommandContext {
  deviceId: string;
  now: Date;
  /** Ids of commands this device already took (and that have not yet expired). */
  taken: (id: string) => boolean;
}

/**
 * Whether a command whose signature verified may run: for this device, not past its deadline
 * (with the clock allowance), and not one already run (a redelivery or a replay). Pure.
 */
export function admitCommand(statement: CommandStatement, ctx: CommandContext): { ok: true } | CommandRefusal {
  const { id, name } = statement;
  if (statement.deviceId !== ctx.deviceId) {
    return { ok: false, code: 'wrong-device', reason: `command ${name} is for device ${statement.deviceId}, not this one`, id };
  }
  if (Date.parse(statement.expiresAt) + COMMAND_CLOCK_ALLOWANCE_MS <= ctx.now.getTime()) {
    return {
      ok: false,
      code: 'stale',
      reason: `command ${name} expired at ${statement.expiresAt} (device clock ${ctx.now.toISOString()}); the operator was told it timed out`,
      id,
    };
  }
  if (ctx.taken(id)) return { ok: false, code: 'replayed', reason: `command ${name} was already run on this device`, id };
  return { ok: true };
}
