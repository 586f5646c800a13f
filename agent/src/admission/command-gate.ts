import {
  COMMAND_CLOCK_ALLOWANCE_MS,
  admitCommand,
  readSignedCommand,
  verifyCommandSignature,
  type CommandRefusal,
  type CommandStatement,
} from '@flotilla/shared/device';
import type { DesiredTrust } from '../provisioning/trusted-key-store';
import type { Clock } from '../support/clock';

export type CommandOutcome = { ok: true; statement: CommandStatement } | CommandRefusal;

export interface CommandGateDeps {
  deviceId: string;
  /** The keys `desired` is verified with: a command is signed by the same control plane. */
  trust: Pick<DesiredTrust, 'preview'>;
  clock: Pick<Clock, 'now'>;
}

/** How many commands' ids are kept to refuse a second delivery; each is also dropped once past its deadline. */
const REMEMBERED_COMMANDS = 1024;

/**
 * The only way a command from the network reaches the device: decoded, its signature verified
 * with the keys the device trusts (following the key chain it carries, without keeping what it
 * learns: only `desired` changes what the device trusts), for this device, before its deadline,
 * and not run before. Ids are kept in memory until their deadline: a restart forgets them, and
 * a command's deadline (the operator's wait plus the clock allowance) bounds what a replay after
 * one could still do.
 */
export class CommandGate {
  /** Command id → its deadline (ms): forgotten once `admitCommand` would refuse it as stale anyway. */
  private readonly taken = new Map<string, number>();

  constructor(private readonly deps: CommandGateDeps) {}

  admit(bytes: Uint8Array | string): CommandOutcome {
    const read = readSignedCommand(bytes);
    if (!read.ok) return read;
    const { envelope, statement } = read;
    const trust = this.deps.trust.preview(statement.keyEndorsements ?? []);
    const revoked = new Set([...trust.revoked, ...(statement.revokedKeys ?? [])]);
    const signature = verifyCommandSignature(envelope, trust.trusted, revoked);
    if (!signature.ok) return { ...signature, id: statement.id };
    const now = this.deps.clock.now();
    this.forgetExpired(now.getTime());
    const admission = admitCommand(statement, { deviceId: this.deps.deviceId, now, taken: (id) => this.taken.has(id) });
    if (!admission.ok) return admission;
    if (this.taken.size >= REMEMBERED_COMMANDS) this.taken.delete(this.taken.keys().next().value!);
    this.taken.set(statement.id, Date.parse(statement.expiresAt));
    return { ok: true, statement };
  }

  private forgetExpired(now: number): void {
    for (const [id, until] of this.taken) if (until + COMMAND_CLOCK_ALLOWANCE_MS <= now) this.taken.delete(id);
  }
}
