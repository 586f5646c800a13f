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
  /**
   * The latest deadline of a command forgotten while still live, to make room: any command due by
   * then may be one of those, so it is refused as a possible replay. Without it, 1,024 newer
   * commands pushed an id out and the command could be delivered again and run before its deadline.
   */
  private forgottenUntil = Number.NEGATIVE_INFINITY;

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
    const deadline = Date.parse(statement.expiresAt);
    if (deadline <= this.forgottenUntil) {
      return {
        ok: false,
        code: 'replayed',
        reason: `command ${statement.name} is due by ${statement.expiresAt}, and the ids of commands due as late were forgotten to make room for ${REMEMBERED_COMMANDS} newer ones: it cannot be told from one already run; send it again`,
        id: statement.id,
      };
    }
    if (this.taken.size >= REMEMBERED_COMMANDS) this.forgetEarliest();
    this.taken.set(statement.id, deadline);
    return { ok: true, statement };
  }

  /** Makes room by forgetting the command due first: the one whose replay stays possible the shortest. */
  private forgetEarliest(): void {
    let earliest: [string, number] | undefined;
    for (const entry of this.taken) if (!earliest || entry[1] < earliest[1]) earliest = entry;
    if (!earliest) return;
    this.taken.delete(earliest[0]);
    this.forgottenUntil = Math.max(this.forgottenUntil, earliest[1]);
  }

  private forgetExpired(now: number): void {
    for (const [id, until] of this.taken) if (until + COMMAND_CLOCK_ALLOWANCE_MS <= now) this.taken.delete(id);
  }
}
