import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CoalescedWrites, DEVICE_WRITE_SPACING_MS } from './coalesced-writes';
import {
  DeviceDirectoryRepository,
  type DirectoryChange,
  type DirectoryConnection,
  type DirectoryRow,
  type HashReplacement,
} from './device-directory.repository';

/** Per device: what a connect and a `desired/get` are answered from. */
interface Entry {
  passwordHash: string;
  desiredRev: number;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15_000;

/**
 * Every device that may connect, in memory: its password hash and its current desired rev, so
 * that a connect (credential check) and the `desired/get` that follows it cost no database round
 * trip (issue 15). Loaded before the broker listens and kept current by the database itself:
 * triggers on `devices` NOTIFY each changed id (created, deleted, credential replaced or
 * revoked, desired rev moved) on every replica's listening connection, and the rows are read
 * again from there, in the order heard; a move of the desired rev alone comes with the new rev,
 * which is taken as it comes (an assignment of 10,000 devices is not followed by a read of 10,000
 * rows). Revs only grow, so the directory keeps the higher of what it holds and what it hears or
 * reads: an announcement taken before a read that started earlier is not undone by that read.
 * When that connection drops, the directory is not `live`
 * (callers fall back to the database) until it has reconnected and loaded everything again, so a
 * change made meanwhile is never missed.
 *
 * A device created a moment ago that no notification has brought yet is read on demand
 * (`passwordHash`), on the same connection, never through the pool.
 */
@Injectable()
export class DeviceDirectory implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('DeviceDirectory');
  private entries = new Map<string, Entry>();
  private connection: DirectoryConnection | undefined;
  /** Ids heard of and not read again yet; read in one query per round (`drain`). */
  private changed = new Set<string>();
  private draining: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Reads for devices not in memory, in flight (a connect waits on each). */
  lookupsInFlight = 0;
  private readonly revokedListeners: ((id: string) => void)[] = [];

  private readonly replacements = new CoalescedWrites<HashReplacement>((batch) => this.repository.replacePasswordHashes(batch), {
    spacingMs: DEVICE_WRITE_SPACING_MS,
  });

  constructor(private readonly repository: DeviceDirectoryRepository) {}

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    await this.connection?.close();
    this.connection = undefined;
  }

  /** False while the listening connection is down: what is in memory may be stale. */
  get live(): boolean {
    return this.connection !== undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The device's password hash, undefined when it is unknown or decommissioned. From memory;
   * a device not in memory is read on the directory's own connection (it may have been created
   * a moment ago), or through the pool while that connection is down.
   */
  async passwordHash(id: string): Promise<string | undefined> {
    const connection = this.connection;
    if (!connection) return this.repository.findPasswordHash(id);
    const known = this.entries.get(id);
    if (known) return known.passwordHash;
    this.lookupsInFlight++;
    try {
      const row = await connection.loadOne(id);
      // Kept only if no change to it is waiting: the read of that change decides.
      if (row && !this.changed.has(id) && this.connection === connection) this.put(row);
      return row?.passwordHash;
    } finally {
      this.lookupsInFlight--;
    }
  }

  /** The device's current desired rev, from memory; undefined when not known here (ask the database). */
  desiredRev(id: string): number | undefined {
    return this.live ? this.entries.get(id)?.desiredRev : undefined;
  }

  /**
   * Stores `to` in place of `from`, a hash of an earlier format the device's password has just
   * been verified against (`upgradedHash`): here at once, so the next connect is checked against
   * the digest, and in the database with the other replacements of the burst, only where the
   * device still holds `from` (a credential replaced or revoked meanwhile stays). A write that
   * fails is tried again at the device's next connect; both hashes accept the same password.
   */
  replaceHash(id: string, from: string, to: string): void {
    const entry = this.entries.get(id);
    if (entry?.passwordHash === from) entry.passwordHash = to;
    this.replacements.add({ id, from, to }).catch((e: Error) => this.logger.warn(`cannot store upgraded password hashes: ${e.message}`));
  }

  /** A revocation made by this process: refused from now on, before the notification comes back. */
  forget(id: string): void {
    this.entries.delete(id);
  }

  /**
   * `listener` hears each device that could connect and no longer may (decommissioned or deleted,
   * by another replica or straight in the database), as this replica learns of it: a session it
   * holds was let in before, and the refusal of the next connect does not end it. Not called for
   * `forget`: the process that revokes ends the session itself.
   */
  onRevoked(listener: (id: string) => void): void {
    this.revokedListeners.push(listener);
  }

  private async connect(): Promise<void> {
    const connection = await this.repository.listen(
      (change) => this.heard(change),
      (lostConnection, error) => this.lost(lostConnection, error),
    );
    try {
      // LISTEN came first: a change committed during this read is heard and read again after it.
      const rows = await connection.loadAll();
      const entries = new Map<string, Entry>();
      for (const row of rows) entries.set(row.id, entryOf(row));
      // After a lost connection: what was revoked meanwhile went unheard.
      const gone = [...this.entries.keys()].filter((id) => !entries.has(id));
      this.entries = entries;
      gone.forEach((id) => this.revoked(id));
    } catch (e) {
      await connection.close();
      throw e;
    }
    this.connection = connection;
    this.logger.log(`${this.entries.size} devices in memory; listening for changes`);
    // Heard while loading: read again, after the load.
    if (this.changed.size > 0) this.startDrain();
  }

  private heard({ id, rev }: DirectoryChange): void {
    // Only while live: during a (re)load every change is read again after it, the rev moves too.
    const entry = this.connection ? this.entries.get(id) : undefined;
    if (entry && rev !== undefined) {
      entry.desiredRev = Math.max(entry.desiredRev, rev);
      return;
    }
    this.changed.add(id);
    this.startDrain();
  }

  private startDrain(): void {
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Reads the changed rows again, all of one round in one query, until none is left. */
  private async drain(): Promise<void> {
    // Let a burst (a rollout bumping 10,000 revs in one statement) arrive before the first read.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.changed.size > 0 && this.connection) {
      const ids = [...this.changed];
      this.changed = new Set();
      let rows: DirectoryRow[];
      try {
        rows = await this.connection.load(ids);
      } catch {
        // The connection is gone ('lost' reloads everything on reconnect).
        return;
      }
      const found = new Set<string>();
      for (const row of rows) {
        found.add(row.id);
        if (!this.changed.has(row.id)) this.put(row);
      }
      for (const id of ids) if (!found.has(id) && !this.changed.has(id) && this.entries.delete(id)) this.revoked(id);
    }
  }

  private revoked(id: string): void {
    for (const listener of this.revokedListeners) {
      try {
        listener(id);
      } catch (e) {
        this.logger.error(`device ${id}: handling its revocation failed: ${String(e)}`);
      }
    }
  }

  private put(row: DirectoryRow): void {
    const held = this.entries.get(row.id);
    this.entries.set(row.id, { ...entryOf(row), desiredRev: Math.max(row.desiredRev, held?.desiredRev ?? 0) });
  }

  /** Only for the connection in use; one that fails while loading fails `connect` itself. */
  private lost(connection: DirectoryConnection, error: Error): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    void connection.close();
    if (this.stopped) return;
    this.logger.warn(`lost the connection that hears device changes (${error.message}); answering from the database until it is back`);
    this.reconnect(RECONNECT_MIN_MS);
  }

  private reconnect(delayMs: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((e: Error) => {
        if (this.stopped) return;
        this.logger.warn(`cannot reconnect the directory: ${e.message}`);
        this.reconnect(Math.min(delayMs * 2, RECONNECT_MAX_MS));
      });
    }, delayMs);
    this.reconnectTimer.unref();
  }
}

function entryOf(row: DirectoryRow): Entry {
  return { passwordHash: row.passwordHash, desiredRev: row.desiredRev };
}
