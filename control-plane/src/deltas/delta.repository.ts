import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DeltaLayer, ImageDelta, ImageDeltaRequest } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import type { DeviceStanding } from '../registries/registry-access';

interface Raw {
  from_image: string;
  to_image: string;
  architecture: string;
  status: ImageDelta['status'];
  manifest: string | null;
  layers: DeltaLayer[];
  delta_bytes: string | null;
  full_bytes: string | null;
  error: string | null;
}

/** A computation that has not finished in this long was lost with its replica: it may be retaken. */
const STALE_CLAIM = '30 minutes';
/** A failed computation is retried on a request after this long (a registry may have been down). */
const RETRY_FAILED = '10 minutes';

/** The only code that reads or writes `image_deltas`. */
@Injectable()
export class DeltaRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async find(key: ImageDeltaRequest): Promise<ImageDelta | undefined> {
    const rows: Raw[] = await this.db.query('SELECT * FROM image_deltas WHERE from_image = $1 AND to_image = $2 AND architecture = $3', [
      key.from,
      key.to,
      key.architecture,
    ]);
    return rows[0] && toDelta(rows[0]);
  }

  /** True when this caller now owns the computation: no row yet, a stale claim, or an old failure. */
  async claim(key: ImageDeltaRequest): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO image_deltas (from_image, to_image, architecture, status) VALUES ($1, $2, $3, 'computing')
       ON CONFLICT (from_image, to_image, architecture) DO UPDATE SET status = 'computing', error = NULL, updated_at = now()
         WHERE (image_deltas.status = 'computing' AND image_deltas.updated_at < now() - interval '${STALE_CLAIM}')
            OR (image_deltas.status = 'failed' AND image_deltas.updated_at < now() - interval '${RETRY_FAILED}')
       RETURNING 1`,
      [key.from, key.to, key.architecture],
    );
    return rows.length === 1;
  }

  async finish(key: ImageDeltaRequest, result: Pick<ImageDelta, 'manifest' | 'layers' | 'deltaBytes' | 'fullBytes'>): Promise<void> {
    await this.db.query(
      `UPDATE image_deltas SET status = 'ready', manifest = $4, layers = $5, delta_bytes = $6, full_bytes = $7, updated_at = now()
        WHERE from_image = $1 AND to_image = $2 AND architecture = $3`,
      [key.from, key.to, key.architecture, result.manifest, JSON.stringify(result.layers), result.deltaBytes, result.fullBytes],
    );
  }

  async fail(key: ImageDeltaRequest, error: string): Promise<void> {
    await this.db.query(
      `UPDATE image_deltas SET status = 'failed', error = $4, updated_at = now() WHERE from_image = $1 AND to_image = $2 AND architecture = $3`,
      [key.from, key.to, key.architecture, error.slice(0, 2000)],
    );
  }

  /** Stores a delta file under its digest (content-addressed: storing it twice is a no-op). */
  async storeFile(digest: string, bytes: Buffer): Promise<void> {
    await this.db.query('INSERT INTO delta_files (digest, bytes) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING', [digest, bytes]);
  }

  async findFile(digest: string): Promise<Buffer | undefined> {
    const rows: { bytes: Buffer }[] = await this.db.query('SELECT bytes FROM delta_files WHERE digest = $1', [digest]);
    return rows[0]?.bytes;
  }

  /** Whether `image` is a component image of the release the device is assigned (what it may ask deltas for). */
  async isDesiredImage(deviceId: string, image: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `SELECT 1 FROM devices d JOIN releases r ON r.id = d.desired_release_id
        WHERE d.id = $1 AND d.decommissioned_at IS NULL
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(r.assembly->'components') c WHERE c->>'image' = $2)`,
      [deviceId, image],
    );
    return rows.length > 0;
  }

  /** Whether `image` is a component image of any release (what a device may ask a delta from). */
  async isReleasedImage(image: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `SELECT 1 FROM releases r WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(r.assembly->'components') c WHERE c->>'image' = $1) LIMIT 1`,
      [image],
    );
    return rows.length > 0;
  }

  /** The ready deltas to one of the device's desired images that hold the delta file `digest`: their images. */
  async desiredDeltasHolding(deviceId: string, digest: string): Promise<{ from: string; to: string }[]> {
    const rows: { from_image: string; to_image: string }[] = await this.db.query(
      `SELECT x.from_image, x.to_image FROM image_deltas x
         JOIN devices d ON d.id = $1 AND d.decommissioned_at IS NULL
         JOIN releases r ON r.id = d.desired_release_id
        WHERE x.status = 'ready' AND x.layers @> $2::jsonb
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(r.assembly->'components') c WHERE c->>'image' = x.to_image)
        LIMIT 16`,
      [deviceId, JSON.stringify([{ delta: { digest } }])],
    );
    return rows.map((r) => ({ from: r.from_image, to: r.to_image }));
  }

  /** The device as registry access sees it (registries/registry-access.ts); undefined for no live device. */
  async standing(deviceId: string): Promise<DeviceStanding | undefined> {
    const rows: { fleet_id: string | null; registered_by_admin: boolean | null }[] = await this.db.query(
      'SELECT fleet_id, registered_by_admin FROM devices WHERE id = $1 AND decommissioned_at IS NULL',
      [deviceId],
    );
    return rows[0] && { deviceId, fleetId: rows[0].fleet_id, registeredByAdmin: rows[0].registered_by_admin === true };
  }

  /** Ready deltas from any of `from` to any of `to`, for the dry-run plan. */
  async findReady(from: readonly string[], to: readonly string[], architecture: string): Promise<ImageDelta[]> {
    const rows: Raw[] = await this.db.query(
      `SELECT * FROM image_deltas WHERE status = 'ready' AND from_image = ANY($1::text[]) AND to_image = ANY($2::text[]) AND architecture = $3`,
      [from, to, architecture],
    );
    return rows.map(toDelta);
  }
}

function toDelta(r: Raw): ImageDelta {
  return {
    from: r.from_image,
    to: r.to_image,
    architecture: r.architecture,
    status: r.status,
    manifest: r.manifest,
    layers: r.layers,
    deltaBytes: r.delta_bytes === null ? null : Number(r.delta_bytes),
    fullBytes: r.full_bytes === null ? null : Number(r.full_bytes),
    error: r.error,
  };
}
