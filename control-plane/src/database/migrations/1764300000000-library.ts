import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The component library: versioned, immutable components an assembly may reference by `name@version`. */
export class Library1764300000000 implements MigrationInterface {
  name = 'Library1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE components (
        name        text NOT NULL,
        version     text NOT NULL,
        image       text NOT NULL,
        description text,
        manifest    jsonb NOT NULL,
        digest      text NOT NULL,
        created_by  text NOT NULL DEFAULT 'operator',
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, version)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE components');
  }
}
