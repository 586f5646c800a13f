import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ConfigMap, WindowSchedule } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { FleetEntity } from './fleet.entity';

export interface FleetRecord {
  fleet: FleetEntity;
  deviceCount: number;
}

export type NewFleet = Omit<FleetEntity, 'createdAt' | 'lockMaxDeferSeconds' | 'windows'>;

/** The only code that reads or writes `fleets`. */
@Injectable()
export class FleetRepository {
  constructor(@InjectRepository(FleetEntity) private readonly fleets: Repository<FleetEntity>) {}

  /** False when the name is taken (ON CONFLICT, so concurrent creates cannot both win). */
  async insertUnlessNameTaken(fleet: NewFleet): Promise<boolean> {
    const result = await this.fleets.createQueryBuilder().insert().values(fleet).orIgnore().returning('id').execute();
    return (result.raw as unknown[]).length > 0;
  }

  findById(id: string): Promise<FleetEntity | null> {
    return this.fleets.findOneBy({ id });
  }

  async findRecord(id: string): Promise<FleetRecord | undefined> {
    return (await this.records('WHERE f.id = $1', [id]))[0];
  }

  /** By name. */
  listRecords(): Promise<FleetRecord[]> {
    return this.records('', []);
  }

  async setTarget(id: string, releaseId: string): Promise<boolean> {
    return ((await this.fleets.update({ id }, { targetReleaseId: releaseId })).affected ?? 0) > 0;
  }

  async setConfig(id: string, config: ConfigMap): Promise<boolean> {
    return ((await this.fleets.update({ id }, { config })).affected ?? 0) > 0;
  }

  async setCertificateValidity(id: string, seconds: number): Promise<boolean> {
    return ((await this.fleets.update({ id }, { certificateValiditySeconds: seconds })).affected ?? 0) > 0;
  }

  /** `windows` undefined: left as it is. */
  async setUpdatePolicy(id: string, lockMaxDeferSeconds: number | null, windows: WindowSchedule | null | undefined): Promise<boolean> {
    const change = { lockMaxDeferSeconds, ...(windows !== undefined ? { windows: windows?.length ? windows : null } : {}) };
    return ((await this.fleets.update({ id }, change)).affected ?? 0) > 0;
  }

  private async records(where: string, params: unknown[]): Promise<FleetRecord[]> {
    // Decommissioned devices no longer count as members.
    const rows = (await this.fleets.query(
      `SELECT f.*, (SELECT count(*) FROM devices d WHERE d.fleet_id = f.id AND d.decommissioned_at IS NULL)::int AS device_count
         FROM fleets f ${where} ORDER BY f.name`,
      params,
    )) as Record<string, unknown>[];
    return rows.map((r) => ({
      fleet: Object.assign(new FleetEntity(), {
        id: r.id,
        name: r.name,
        targetReleaseId: r.target_release_id ?? null,
        boards: r.boards ?? [],
        config: r.config ?? {},
        certificateValiditySeconds: r.certificate_validity_seconds,
        lockMaxDeferSeconds: r.lock_max_defer_seconds ?? null,
        windows: r.update_windows ?? null,
        createdAt: r.created_at,
      }),
      deviceCount: r.device_count as number,
    }));
  }
}
