import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Binary layer deltas (issue 18 item 3): one row per (from image, to image, architecture), with
 * the layer plan as JSON (`ImageDelta.layers`), and the delta files by digest in `delta_files`
 * (in the database, so every replica serves every delta; they are KB to a few MB). `status` moves
 * computing → ready | failed; `updated_at` lets a stale claim be retaken.
 */
export class ImageDeltas1765030000000 implements MigrationInterface {
  name = 'ImageDeltas1765030000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE image_deltas (
      from_image text NOT NULL,
      to_image text NOT NULL,
      architecture text NOT NULL,
      status text NOT NULL CHECK (status IN ('computing', 'ready', 'failed')),
      manifest text,
      layers jsonb NOT NULL DEFAULT '[]',
      delta_bytes bigint,
      full_bytes bigint,
      error text,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (from_image, to_image, architecture)
    )`);
    await q.query('CREATE INDEX image_deltas_layers ON image_deltas USING gin (layers jsonb_path_ops)');
    await q.query(
      'CREATE TABLE delta_files (digest text PRIMARY KEY, bytes bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE delta_files');
    await q.query('DROP TABLE image_deltas');
  }
}
