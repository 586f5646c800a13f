import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface RegistryCredentialsRow {
  registry: string;
  username: string;
  /** The password as `SecretBox` sealed it; never leaves the registries domain. */
  passwordSealed: string;
  updatedAt: Date;
  updatedBy: string;
}

interface Raw {
  registry: string;
  username: string;
  password_sealed: string;
  updated_at: Date;
  updated_by: string;
}

const COLUMNS = 'registry, username, password_sealed, updated_at, updated_by';

/** The only code that reads or writes `registry_credentials`. */
@Injectable()
export class RegistryCredentialsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Inserts or replaces; answers with the row before (undefined when new) and after. */
  async upsert(
    row: Omit<RegistryCredentialsRow, 'updatedAt'>,
  ): Promise<{ before: RegistryCredentialsRow | undefined; after: RegistryCredentialsRow }> {
    return this.db.transaction(async (m) => {
      const before: Raw[] = await m.query(`SELECT ${COLUMNS} FROM registry_credentials WHERE registry = $1 FOR UPDATE`, [row.registry]);
      const after: Raw[] = await m.query(
        `INSERT INTO registry_credentials (registry, username, password_sealed, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (registry) DO UPDATE
           SET username = EXCLUDED.username, password_sealed = EXCLUDED.password_sealed,
               updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING ${COLUMNS}`,
        [row.registry, row.username, row.passwordSealed, row.updatedBy],
      );
      return { before: before[0] ? toRow(before[0]) : undefined, after: toRow(after[0]!) };
    });
  }

  async list(): Promise<RegistryCredentialsRow[]> {
    const rows: Raw[] = await this.db.query(`SELECT ${COLUMNS} FROM registry_credentials ORDER BY registry`);
    return rows.map(toRow);
  }

  async findByRegistries(registries: readonly string[]): Promise<RegistryCredentialsRow[]> {
    if (registries.length === 0) return [];
    const rows: Raw[] = await this.db.query(`SELECT ${COLUMNS} FROM registry_credentials WHERE registry = ANY($1::text[])`, [registries]);
    return rows.map(toRow);
  }

  async remove(registry: string): Promise<RegistryCredentialsRow | undefined> {
    // Wrapped in a SELECT: TypeORM answers a bare DELETE … RETURNING with [rows, count].
    const rows: Raw[] = await this.db.query(
      `WITH gone AS (DELETE FROM registry_credentials WHERE registry = $1 RETURNING ${COLUMNS}) SELECT * FROM gone`,
      [registry],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }
}

function toRow(raw: Raw): RegistryCredentialsRow {
  return {
    registry: raw.registry,
    username: raw.username,
    passwordSealed: raw.password_sealed,
    updatedAt: raw.updated_at,
    updatedBy: raw.updated_by,
  };
}
