import { Inject, Injectable, Logger } from '@nestjs/common';
import { isValidDeviceId, type DeviceView } from '@flotilla/shared';
import { ReleasesService } from '../releases/releases.service';
import { hashPassword, newDeviceId, newDevicePassword } from './credentials';
import { DESIRED_PUBLISHER, type DesiredPublisher } from './desired-publisher';
import { desiredMessage, toDeviceView } from './device.mapper';
import { DeviceRepository } from './device.repository';
import { DeviceNotFoundError } from './devices.errors';

export interface NewDeviceCredential {
  deviceId: string;
  /** Plain text; returned once to the registering device and never stored. */
  password: string;
}

/** The operator's view of devices and what they should run. */
@Injectable()
export class DevicesService {
  private readonly logger = new Logger('Devices');

  constructor(
    private readonly devices: DeviceRepository,
    private readonly releases: ReleasesService,
    @Inject(DESIRED_PUBLISHER) private readonly publisher: DesiredPublisher,
  ) {}

  async create(input: { name?: string | undefined; board?: string | undefined }): Promise<NewDeviceCredential> {
    const deviceId = newDeviceId();
    const password = newDevicePassword();
    await this.devices.create({
      id: deviceId,
      name: input.name ?? deviceId,
      board: input.board ?? null,
      passwordHash: await hashPassword(password),
    });
    return { deviceId, password };
  }

  async list(): Promise<DeviceView[]> {
    return (await this.devices.listAll()).map(toDeviceView);
  }

  async get(id: string): Promise<DeviceView> {
    const row = isValidDeviceId(id) ? await this.devices.findById(id) : null;
    if (!row) throw new DeviceNotFoundError(id);
    return toDeviceView(row);
  }

  countOnline(): Promise<number> {
    return this.devices.countOnline();
  }

  /**
   * Bumps the device's rev and tells it right away. If the device is offline, or the publish
   * is lost, it still converges: it asks with `desired/get` after every connect.
   */
  async assignRelease(deviceId: string, releaseId: string): Promise<DeviceView> {
    const release = await this.releases.getForDelivery(releaseId);
    const row = isValidDeviceId(deviceId) ? await this.devices.assignRelease(deviceId, releaseId) : undefined;
    if (!row) throw new DeviceNotFoundError(deviceId);
    await this.publisher.publishDesired(deviceId, desiredMessage(row.desiredRev, release)).catch((e: Error) => {
      this.logger.warn(`device ${deviceId}: desired rev ${row.desiredRev} not published now (${e.message}); it will get it on desired/get`);
    });
    return toDeviceView(row);
  }
}
