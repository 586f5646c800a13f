import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Inventory, Reported } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { DeviceEntity } from './device.entity';

export interface NewDevice {
  id: string;
  name: string;
  board: string | null;
  passwordHash: string;
}

export interface DesiredPointer {
  desiredRev: number;
  desiredReleaseId: string | null;
}

/** The only code that reads or writes `devices`. */
@Injectable()
export class DeviceRepository {
  constructor(@InjectRepository(DeviceEntity) private readonly devices: Repository<DeviceEntity>) {}

  async create(device: NewDevice): Promise<DeviceEntity> {
    const result = await this.devices
      .createQueryBuilder()
      .insert()
      .values({ ...device, online: false, desiredRev: 0, desiredReleaseId: null })
      .returning('*')
      .execute();
    return this.fromRaw((result.raw as Record<string, unknown>[])[0]!);
  }

  findById(id: string): Promise<DeviceEntity | null> {
    return this.devices.findOneBy({ id });
  }

  /** Oldest first, so a listing is stable while devices register. */
  listAll(): Promise<DeviceEntity[]> {
    return this.devices.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async findPasswordHash(id: string): Promise<string | undefined> {
    const row = await this.devices.findOne({ select: { passwordHash: true }, where: { id } });
    return row?.passwordHash;
  }

  async findDesiredPointer(id: string): Promise<DesiredPointer | undefined> {
    const row = await this.devices.findOne({ select: { desiredRev: true, desiredReleaseId: true }, where: { id } });
    return row ?? undefined;
  }

  /**
   * Points the device at a release and bumps its rev in one statement, so concurrent
   * assignments each get their own rev and the last one written carries the highest.
   */
  async assignRelease(id: string, releaseId: string): Promise<DeviceEntity | undefined> {
    const result = await this.devices
      .createQueryBuilder()
      .update()
      .set({ desiredReleaseId: releaseId, desiredRev: () => 'desired_rev + 1' })
      .where('id = :id', { id })
      .returning('*')
      .execute();
    const raw = (result.raw as Record<string, unknown>[])[0];
    return raw ? this.fromRaw(raw) : undefined;
  }

  async setOnline(id: string, online: boolean): Promise<void> {
    await this.devices.update({ id }, { online, lastSeenAt: () => 'now()' });
  }

  /** After a restart of the (single) broker no device can still be connected to it. */
  async markAllOffline(): Promise<void> {
    await this.devices.update({ online: true }, { online: false });
  }

  async touch(id: string): Promise<void> {
    await this.devices.update({ id }, { lastSeenAt: () => 'now()' });
  }

  async storeReported(id: string, reported: Reported): Promise<void> {
    await this.devices.update({ id }, { reported, reportedAt: () => 'now()', lastSeenAt: () => 'now()' });
  }

  async storeInventory(id: string, inventory: Inventory): Promise<void> {
    await this.devices.update({ id }, { inventory, inventoryAt: () => 'now()', lastSeenAt: () => 'now()' });
  }

  countOnline(): Promise<number> {
    return this.devices.countBy({ online: true });
  }

  private fromRaw(raw: Record<string, unknown>): DeviceEntity {
    const entity = new DeviceEntity();
    Object.assign(entity, {
      id: raw.id,
      name: raw.name,
      board: raw.board,
      passwordHash: raw.password_hash,
      online: raw.online,
      lastSeenAt: raw.last_seen_at,
      desiredRev: raw.desired_rev,
      desiredReleaseId: raw.desired_release_id,
      reported: raw.reported,
      reportedAt: raw.reported_at,
      inventory: raw.inventory,
      inventoryAt: raw.inventory_at,
      createdAt: raw.created_at,
    });
    return entity;
  }
}
