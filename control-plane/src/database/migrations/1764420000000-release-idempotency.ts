import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `Idempotency-Key` on `POST /api/v1/releases`, as rollouts have it: the key a release was
 * created under and the digest of that request. The unique constraint makes two concurrent
 * requests with one key create one release.
 */
export class ReleaseIdempotency1764420000000 implements MigrationInterface {
  name = 'ReleaseIdempotency1764420000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE releases ADD COLUMN idempotency_key text UNIQUE, ADD COLUMN request_digest text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE releases DROP COLUMN request_digest, DROP COLUMN idempotency_key');
  }
}
