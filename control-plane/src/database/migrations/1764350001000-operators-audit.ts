import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Operator API keys (hashed) with roles, and the audit log of every change made through the API. */
export class OperatorsAudit1764350001000 implements MigrationInterface {
  name = 'OperatorsAudit1764350001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE operator_keys (
        id           uuid PRIMARY KEY,
        name         text NOT NULL,
        role         text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
        key_hash     text NOT NULL UNIQUE,
        created_by   text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at   timestamptz
      )`);
    await q.query(`
      CREATE TABLE audit_log (
        id          bigserial PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        actor_id    text NOT NULL,
        actor_name  text NOT NULL,
        actor_role  text NOT NULL,
        action      text NOT NULL,
        target      text,
        status_code integer NOT NULL,
        before      jsonb,
        after       jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_at_idx ON audit_log (id DESC)`);
    await q.query(`CREATE INDEX audit_log_target_idx ON audit_log (target, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_log');
    await q.query('DROP TABLE operator_keys');
  }
}
