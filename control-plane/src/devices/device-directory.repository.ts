import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { SESSION_OPTIONS } from '../database/session-options';

/** Channel the `devices` triggers announce changed ids on (migration 1765040000000). */
export const DEVICE_DIRECTORY_CHANNEL = 'flotilla_device_directory';

/** What the triggers announce: a device to read again, or (with `rev`) only its desired rev moved, to that rev. */
export interface DirectoryChange {
  id: string;
  rev?: number;
}

/**
 * An announcement's payload: `<id>`, or `<id> <rev>` when only the desired rev moved (migration
 * 1765270001000). Anything else is taken as an id to read again, which costs a read and changes
 * nothing that is not in the database. Pure.
 */
export function parseDirectoryChange(payload: string): DirectoryChange {
  const match = /^(\S+) (\d{1,10})$/.exec(payload);
  const rev = match ? Number(match[2]) : NaN;
  return match && rev <= 2 ** 31 - 1 ? { id: match[1]!, rev } : { id: payload };
}

/** What a connect is decided from, per device that may connect (not decommissioned). */
export interface DirectoryRow {
  id: string;
  passwordHash: string;
  desiredRev: number;
}

/** A device's password hash replaced by one of the current format, where it still holds `from`. */
export interface HashReplacement {
  id: string;
  from: string;
  to: string;
}

/** The directory's own connection: it hears changes and reads rows, outside the pool. */
export interface DirectoryConnection {
  loadAll(): Promise<DirectoryRow[]>;
  load(ids: readonly string[]): Promise<DirectoryRow[]>;
  /** One device a connect is waiting on. */
  loadOne(id: string): Promise<DirectoryRow | undefined>;
  close(): Promise<void>;
}

const SELECT = `SELECT id, password_hash, desired_rev FROM devices WHERE decommissioned_at IS NULL`;

type Row = { id: string; password_hash: string; desired_rev: number };
const toDirectoryRow = (r: Row): DirectoryRow => ({ id: r.id, passwordHash: r.password_hash, desiredRev: r.desired_rev });

/**
 * The database side of DeviceDirectory. The listening connection is a client of its own, not
 * one of the pool's: LISTEN holds a session, and the reads a connect may need (a device created
 * a moment ago, not heard of yet) must never queue behind the pool's writes.
 */
@Injectable()
export class DeviceDirectoryRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Opens the connection and LISTENs; `changed` gets each announced change, `lost` the error that
   * ended the connection (after which nothing more is announced: the caller reconnects).
   */
  async listen(
    changed: (change: DirectoryChange) => void,
    lost: (connection: DirectoryConnection, error: Error) => void,
  ): Promise<DirectoryConnection> {
    const options = this.db.options as { url?: string };
    const client = new Client({ connectionString: options.url, options: SESSION_OPTIONS, connectionTimeoutMillis: 5000 });
    let ended = false;
    const end = (error: Error): void => {
      if (ended) return;
      ended = true;
      lost(connection, error);
    };
    client.on('error', end);
    client.on('end', () => end(new Error('the directory connection ended')));
    client.on('notification', (n) => {
      if (n.channel === DEVICE_DIRECTORY_CHANNEL && n.payload) changed(parseDirectoryChange(n.payload));
    });
    const connection: DirectoryConnection = {
      loadAll: async () => (await client.query<Row>(SELECT)).rows.map(toDirectoryRow),
      load: async (ids) => (await client.query<Row>(`${SELECT} AND id = ANY($1::text[])`, [ids])).rows.map(toDirectoryRow),
      loadOne: async (id) => (await client.query<Row>(`${SELECT} AND id = $1`, [id])).rows.map(toDirectoryRow)[0],
      close: async () => {
        ended = true;
        await client.end().catch(() => undefined);
      },
    };
    try {
      await client.connect();
      await client.query(`LISTEN ${DEVICE_DIRECTORY_CHANNEL}`);
    } catch (e) {
      await connection.close();
      throw e;
    }
    return connection;
  }

  /** Through the pool: only while the directory's own connection is down. */
  async findPasswordHash(id: string): Promise<string | undefined> {
    const rows = (await this.db.query(`${SELECT} AND id = $1`, [id])) as Row[];
    return rows[0]?.password_hash;
  }

  /** In one statement; a device whose hash is no longer `from` (replaced, revoked) is left alone. */
  async replacePasswordHashes(batch: readonly HashReplacement[]): Promise<void> {
    await this.db.query(
      `UPDATE devices d SET password_hash = r.to_hash
         FROM unnest($1::text[], $2::text[], $3::text[]) AS r(id, from_hash, to_hash)
        WHERE d.id = r.id AND d.password_hash = r.from_hash AND d.decommissioned_at IS NULL`,
      [batch.map((r) => r.id), batch.map((r) => r.from), batch.map((r) => r.to)],
    );
  }
}
