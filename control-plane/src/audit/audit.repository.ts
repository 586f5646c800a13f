import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AuditEntryView, AuditQuery, OperatorRole } from '@flotilla/shared';
import { DataSource } from 'typeorm';

export interface NewAuditEntry {
  actor: { id: string; name: string; role: OperatorRole };
  action: string;
  target: string | null;
  statusCode: number;
  before: unknown;
  after: unknown;
}

interface RawEntry {
  id: string;
  at: Date;
  actor_id: string;
  actor_name: string;
  actor_role: OperatorRole;
  action: string;
  target: string | null;
  status_code: number;
  before: unknown;
  after: unknown;
}

/** The only code that reads or writes `audit_log`. Append-only. */
@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async append(e: NewAuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_log (actor_id, actor_name, actor_role, action, target, status_code, before, after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.actor.id, e.actor.name, e.actor.role, e.action, e.target, e.statusCode, json(e.before), json(e.after)],
    );
  }

  /** Newest first; `beforeId` is the keyset cursor. */
  async list(filter: AuditQuery, limit: number, beforeId: string | undefined): Promise<AuditEntryView[]> {
    const rows: RawEntry[] = await this.db.query(
      `SELECT * FROM audit_log
       WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR actor_id = $2)
         AND ($3::text IS NULL OR action LIKE $3 || '%') AND ($4::text IS NULL OR target = $4)
       ORDER BY id DESC LIMIT $5`,
      [beforeId ?? null, filter.actor ?? null, filter.action ?? null, filter.target ?? null, limit],
    );
    return rows.map((r) => ({
      id: String(r.id),
      at: r.at.toISOString(),
      actor: { id: r.actor_id, name: r.actor_name, role: r.actor_role },
      action: r.action,
      target: r.target,
      statusCode: r.status_code,
      before: r.before ?? null,
      after: r.after ?? null,
    }));
  }
}

/** jsonb parameters go as JSON text; undefined becomes SQL NULL. */
function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
