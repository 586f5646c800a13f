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
  /** The fleets an admin granted this login to, sorted. */
  grantedFleetIds: string[];
}

interface Raw {
  registry: string;
  username: string;
  password_sealed: string;
  updated_at: Date;
  updated_by: string;
  granted_fleet_ids?: string[] | null;
}

const FOREIGN_KEY_VIOLATION = '23503';
const COLUMNS = 'registry, username, password_sealed, updated_at, updated_by';
const GRANTS = `ARRAY(SELECT g.fleet_id::text FROM registry_credential_grants g WHERE g.registry = c.registry ORDER BY 1) AS granted_fleet_ids`;

/** The only code that reads or writes `registry_credentials` and its `registry_credential_grants`. */
@Injectable()
export class RegistryCredentialsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Inserts or replaces; answers with the row before (undefined when new) and after. */
  async upsert(
    row: Omit<RegistryCredentialsRow, 'updatedAt' | 'grantedFleetIds'>,
  ): Promise<{ before: RegistryCredentialsRow | undefined; after: RegistryCredentialsRow }> {
    return this.db.transaction(async (m) => {
      const before: Raw[] = await m.query(`SELECT ${COLUMNS}, ${GRANTS} FROM registry_credentials c WHERE registry = $1 FOR UPDATE`, [
        row.registry,
      ]);
      const after: Raw[] = await m.query(
        `INSERT INTO registry_credentials (registry, username, password_sealed, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (registry) DO UPDATE
           SET username = EXCLUDED.username, password_sealed = EXCLUDED.password_sealed,
               updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING ${COLUMNS}`,
        [row.registry, row.username, row.passwordSealed, row.updatedBy],
      );
      // A replaced login keeps its grants: the admin changed the password, not who may use it.
      after[0]!.granted_fleet_ids = before[0]?.granted_fleet_ids ?? [];
      return { before: before[0] ? toRow(before[0]) : undefined, after: toRow(after[0]!) };
    });
  }

  async list(): Promise<RegistryCredentialsRow[]> {
    const rows: Raw[] = await this.db.query(`SELECT ${COLUMNS}, ${GRANTS} FROM registry_credentials c ORDER BY registry`);
    return rows.map(toRow);
  }

  async findByRegistries(registries: readonly string[]): Promise<RegistryCredentialsRow[]> {
    if (registries.length === 0) return [];
    const rows: Raw[] = await this.db.query(`SELECT ${COLUMNS}, ${GRANTS} FROM registry_credentials c WHERE registry = ANY($1::text[])`, [
      registries,
    ]);
    return rows.map(toRow);
  }

  /**
   * Everything that decides a registry's access, in one round trip (the path of every
   * `desired/get`): whether its tokens are issued here, else its stored login and grants.
   */
  async findAccess(registry: string): Promise<{ token?: { service: string; ttlSeconds: number }; login?: RegistryCredentialsRow }> {
    const rows: (Partial<Raw> & { service: string | null; ttl_seconds: number | null })[] = await this.db.query(
      `SELECT t.service, t.ttl_seconds, c.registry, c.username, c.password_sealed, c.updated_at, c.updated_by,
              ${GRANTS}
         FROM (SELECT $1::text AS registry) r
         LEFT JOIN registry_token_auth t ON t.registry = r.registry
         LEFT JOIN registry_credentials c ON c.registry = r.registry`,
      [registry],
    );
    const row = rows[0];
    if (row?.service != null && row.ttl_seconds != null) return { token: { service: row.service, ttlSeconds: row.ttl_seconds } };
    return row?.registry ? { login: toRow(row as Raw) } : {};
  }

  /** Grants the login to a fleet; answers the row after, undefined without such a login. Granting twice is a no-op. */
  async grant(registry: string, fleetId: string, grantedBy: string): Promise<RegistryCredentialsRow | 'no-fleet' | undefined> {
    try {
      await this.db.query(
        `INSERT INTO registry_credential_grants (registry, fleet_id, granted_by)
         SELECT registry, $2::uuid, $3 FROM registry_credentials WHERE registry = $1
         ON CONFLICT (registry, fleet_id) DO NOTHING`,
        [registry, fleetId, grantedBy],
      );
    } catch (e) {
      if ((e as { code?: string }).code === FOREIGN_KEY_VIOLATION) return 'no-fleet';
      throw e;
    }
    return (await this.findByRegistries([registry]))[0];
  }

  /** Takes the grant back; answers whether there was one. */
  async revokeGrant(registry: string, fleetId: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `WITH gone AS (DELETE FROM registry_credential_grants WHERE registry = $1 AND fleet_id = $2::uuid RETURNING 1) SELECT * FROM gone`,
      [registry, fleetId],
    );
    return rows.length > 0;
  }

  /** Whether any login is granted to the fleet (then only admins may bring devices into it). */
  async fleetHasGrants(fleetId: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query('SELECT 1 FROM registry_credential_grants WHERE fleet_id = $1::uuid LIMIT 1', [fleetId]);
    return rows.length > 0;
  }

  async remove(registry: string): Promise<RegistryCredentialsRow | undefined> {
    // Wrapped in a SELECT: TypeORM answers a bare DELETE … RETURNING with [rows, count].
    const rows: Raw[] = await this.db.query(
      `WITH gone AS (DELETE FROM registry_credentials c WHERE registry = $1 RETURNING ${COLUMNS}, ${GRANTS}) SELECT * FROM gone`,
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
    grantedFleetIds: raw.granted_fleet_ids ?? [],
  };
}
