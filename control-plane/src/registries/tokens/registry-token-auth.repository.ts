import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A registry whose tokens this control plane issues. */
export interface RegistryTokenAuthRow {
  registry: string;
  service: string;
  ttlSeconds: number;
  updatedAt: Date;
  updatedBy: string;
}

interface Raw {
  registry: string;
  service: string;
  ttl_seconds: number;
  updated_at: Date;
  updated_by: string;
}

const COLUMNS = 'registry, service, ttl_seconds, updated_at, updated_by';

/** The only code that reads or writes `registry_token_auth`. */
@Injectable()
export class RegistryTokenAuthRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async upsert(
    row: Omit<RegistryTokenAuthRow, 'updatedAt'>,
  ): Promise<{ before: RegistryTokenAuthRow | undefined; after: RegistryTokenAuthRow }> {
    return this.db.transaction(async (m) => {
      const before: Raw[] = await m.query(`SELECT ${COLUMNS} FROM registry_token_auth WHERE registry = $1 FOR UPDATE`, [row.registry]);
      const after: Raw[] = await m.query(
        `INSERT INTO registry_token_auth (registry, service, ttl_seconds, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (registry) DO UPDATE
           SET service = EXCLUDED.service, ttl_seconds = EXCLUDED.ttl_seconds, updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING ${COLUMNS}`,
        [row.registry, row.service, row.ttlSeconds, row.updatedBy],
      );
      return { before: before[0] ? toRow(before[0]) : undefined, after: toRow(after[0]!) };
    });
  }

  async list(): Promise<RegistryTokenAuthRow[]> {
    const rows: Raw[] = await this.db.query(`SELECT ${COLUMNS} FROM registry_token_auth ORDER BY registry`);
    return rows.map(toRow);
  }

  async findByRegistries(registries: readonly string[]): Promise<RegistryTokenAuthRow[]> {
    if (registries.length === 0) return [];
    const rows: Raw[] = await this.db.query(`SELECT ${COLUMNS} FROM registry_token_auth WHERE registry = ANY($1::text[])`, [registries]);
    return rows.map(toRow);
  }

  async findByService(service: string): Promise<RegistryTokenAuthRow | undefined> {
    const rows: Raw[] = await this.db.query(`SELECT ${COLUMNS} FROM registry_token_auth WHERE service = $1 ORDER BY registry LIMIT 1`, [
      service,
    ]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async remove(registry: string): Promise<RegistryTokenAuthRow | undefined> {
    const rows: Raw[] = await this.db.query(
      `WITH gone AS (DELETE FROM registry_token_auth WHERE registry = $1 RETURNING ${COLUMNS}) SELECT * FROM gone`,
      [registry],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }
}

function toRow(raw: Raw): RegistryTokenAuthRow {
  return {
    registry: raw.registry,
    service: raw.service,
    ttlSeconds: raw.ttl_seconds,
    updatedAt: raw.updated_at,
    updatedBy: raw.updated_by,
  };
}
