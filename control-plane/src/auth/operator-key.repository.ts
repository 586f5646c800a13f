import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { OperatorRole } from '@flotilla/shared';
import { DataSource } from 'typeorm';

export interface OperatorKeyRow {
  id: string;
  name: string;
  role: OperatorRole;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

interface RawKey {
  id: string;
  name: string;
  role: OperatorRole;
  created_by: string;
  created_at: Date;
  last_used_at: Date | null;
}

const COLUMNS = 'id, name, role, created_by, created_at, last_used_at';

/** The only code that reads or writes `operator_keys`. */
@Injectable()
export class OperatorKeyRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(key: { id: string; name: string; role: OperatorRole; keyHash: string; createdBy: string }): Promise<OperatorKeyRow> {
    const rows: RawKey[] = await this.db.query(
      `INSERT INTO operator_keys (id, name, role, key_hash, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [key.id, key.name, key.role, key.keyHash, key.createdBy],
    );
    return toRow(rows[0]!);
  }

  async findActiveByHash(keyHash: string): Promise<OperatorKeyRow | undefined> {
    const rows: RawKey[] = await this.db.query(`SELECT ${COLUMNS} FROM operator_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [
      keyHash,
    ]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async isActive(id: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query('SELECT 1 FROM operator_keys WHERE id = $1 AND revoked_at IS NULL', [id]);
    return rows.length > 0;
  }

  async listActive(): Promise<OperatorKeyRow[]> {
    const rows: RawKey[] = await this.db.query(`SELECT ${COLUMNS} FROM operator_keys WHERE revoked_at IS NULL ORDER BY created_at, id`);
    return rows.map(toRow);
  }

  async revoke(id: string): Promise<OperatorKeyRow | undefined> {
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE … RETURNING with [rows, count].
    const rows: RawKey[] = await this.db.query(
      `WITH revoked AS (UPDATE operator_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS})
       SELECT * FROM revoked`,
      [id],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** At most once a minute per key, so reads do not turn into a write each. */
  async touch(id: string): Promise<void> {
    await this.db.query(
      `UPDATE operator_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }
}

function toRow(raw: RawKey): OperatorKeyRow {
  return {
    id: raw.id,
    name: raw.name,
    role: raw.role,
    createdBy: raw.created_by,
    createdAt: raw.created_at,
    lastUsedAt: raw.last_used_at,
  };
}
