import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  isValidDeviceId,
  type ConfigMap,
  type DeviceListQuery,
  type DevicePageQuery,
  type DeviceView,
  type Page,
  type Release,
  type WindowSchedule,
} from '@flotilla/shared';
import type { UnitOfWork } from '../database/unit-of-work';
import { HostPolicyService } from '../host-policy/host-policy.service';
import { decodeCursor, encodeCursor } from '../http/cursor';
import { RegistriesService } from '../registries/registries.service';
import { ReleasesService } from '../releases/releases.service';
import { SigningService } from '../signing/signing.service';
import { hashPassword, newDeviceId, newDevicePassword } from './credentials';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { DesiredPublisher, type DesiredFanout } from './desired-publisher';
import { DeviceDirectory } from './device-directory';
import { FanoutActivity } from './fanout-activity';
import { DeviceCertificateAuthority } from '../certificates/device-certificate-authority';
import { toDeviceView } from './device.mapper';
import { DeviceAssignmentRepository, type NewDevice } from './device-assignment.repository';
import { DeviceRecordRepository, type DesiredState } from './device-record.repository';
import type { DeviceEntity } from './device.entity';
import { DeviceNotFoundError } from './devices.errors';

export interface NewDeviceCredential {
  deviceId: string;
  /** Plain text; returned once to the registering device and never stored. Absent for a certificate device. */
  password?: string;
}

/** A device about to be registered: its row, and what the device is told once. */
export interface PreparedDevice {
  record: NewDevice;
  credential: NewDeviceCredential;
}

/** Stored instead of a password hash for a device that authenticates by certificate: no password verifies against it. */
export const NO_PASSWORD = 'none';

/** Devices whose desired states one query reads (bounds the id array sent to PostgreSQL). */
const READ_BATCH = 5000;

/**
 * The operator's view of devices and what they should run. Every change of a device's
 * desired state bumps its rev (in the repository) and then publishes the device's current
 * desired state, read back from the database: level-triggered, so concurrent changes all
 * end with the device holding the latest state. An offline device, or a lost publish,
 * still converges: the device asks with `desired/get` after every connect.
 */
@Injectable()
export class DevicesService {
  private readonly logger = new Logger('Devices');
  private readonly publisher: DesiredPublisher;

  constructor(
    private readonly records: DeviceRecordRepository,
    private readonly assignments: DeviceAssignmentRepository,
    private readonly releases: ReleasesService,
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
    registries: RegistriesService,
    signing: SigningService,
    private readonly hostPolicy: HostPolicyService,
    private readonly certificates: DeviceCertificateAuthority,
    private readonly directory: DeviceDirectory,
    activity: FanoutActivity,
  ) {
    this.publisher = new DesiredPublisher({ releases, registries, signing, broker, logger: this.logger, activity });
  }

  /**
   * A new device's id and credential, made before anything is written: a retried transaction
   * writes the same device (`insert`). `registeredByAdmin`: the provisioning token was an admin's
   * (see `NewDevice`).
   */
  prepare(input: {
    name?: string | undefined;
    board?: string | undefined;
    fleetId?: string | null;
    registeredByAdmin?: boolean;
    credential: 'password' | 'certificate';
  }): PreparedDevice {
    const deviceId = newDeviceId();
    const password = input.credential === 'password' ? newDevicePassword() : undefined;
    const record: NewDevice = {
      id: deviceId,
      name: input.name ?? deviceId,
      board: input.board ?? null,
      passwordHash: password ? hashPassword(password) : NO_PASSWORD,
      fleetId: input.fleetId ?? null,
      registeredByAdmin: input.registeredByAdmin ?? false,
    };
    return { record, credential: password ? { deviceId, password } : { deviceId } };
  }

  /** Writes a prepared device inside the caller's transaction; false when a retried transaction finds it written already. */
  insert(uow: UnitOfWork, device: PreparedDevice): Promise<boolean> {
    return this.assignments.insert(uow, device.record);
  }

  /** Oldest first, keyset-paginated: paging through returns every device that existed throughout exactly once. */
  async list(filter: DeviceListQuery, page: DevicePageQuery): Promise<Page<DeviceView>> {
    const position = decodeCursor(page.cursor, ['timestamp', 'deviceId']) as [string, string] | undefined;
    const records = await this.records.listPage(filter, page.limit + 1, position && { createdAt: position[0], id: position[1] });
    const more = records.length > page.limit;
    const shown = more ? records.slice(0, page.limit) : records;
    const last = shown.at(-1);
    return {
      items: shown.map(toDeviceView),
      nextCursor: more && last ? encodeCursor([last.position.createdAt, last.position.id]) : null,
    };
  }

  async get(id: string): Promise<DeviceView> {
    const record = isValidDeviceId(id) ? await this.records.findRecord(id) : undefined;
    if (!record) throw new DeviceNotFoundError(id);
    return toDeviceView(record);
  }

  countOnline(): Promise<number> {
    return this.records.countOnline();
  }

  /** Sets the device's effective desired release, bumps its rev and tells it right away. */
  async assignRelease(deviceId: string, releaseId: string): Promise<DeviceView> {
    const { assembly } = await this.releases.getForDelivery(releaseId);
    if (!isValidDeviceId(deviceId)) throw new DeviceNotFoundError(deviceId);
    const row = await this.hostPolicy.bindToDevices([deviceId], assembly, (uow) =>
      this.assignments.assignRelease(uow, deviceId, releaseId),
    );
    return this.changed(deviceId, row);
  }

  /**
   * The release as devices receive it; throws a DomainError when it cannot be delivered. What
   * `assignReleaseToMany` takes, so that a caller assigning in several transactions reads and
   * checks it once, and what a `desiredFanout` may be given so it does not read it again.
   */
  releaseForDelivery(releaseId: string): Promise<Release> {
    return this.releases.getForDelivery(releaseId);
  }

  /**
   * Points many devices at one release (read by `releaseForDelivery`) in one statement inside the
   * caller's transaction `uow` (a rollout's, so the assignments and the rollout's record of them
   * commit together) and returns each assigned device's new desired state. Devices absent from
   * the result are unknown or decommissioned. Nothing is published here: the caller hands the
   * result to a `desiredFanout` once `uow` has committed, so no device is told of a rev that may still roll back.
   */
  assignReleaseToMany(uow: UnitOfWork, deviceIds: readonly string[], release: Release, force = false): Promise<Map<string, DesiredState>> {
    return this.assignments.assignReleaseToMany(uow, deviceIds, release.id, force);
  }

  /** The device's own maintenance windows, replacing its fleet's (null: the fleet's apply again). */
  async setWindows(deviceId: string, windows: WindowSchedule | null): Promise<DeviceView> {
    return this.changed(deviceId, isValidDeviceId(deviceId) ? await this.assignments.setWindows(deviceId, windows) : undefined);
  }

  /** The operator overrides the device's update locks: it switches to its current desired state even while a component holds one. */
  async forceUpdate(deviceId: string): Promise<DeviceView> {
    return this.changed(deviceId, isValidDeviceId(deviceId) ? await this.assignments.forceUpdate(deviceId) : undefined);
  }

  /** The device runs `releaseId` until unpinned, whatever its fleet targets. */
  async pin(deviceId: string, releaseId: string): Promise<DeviceView> {
    const { assembly } = await this.releases.getForDelivery(releaseId);
    if (!isValidDeviceId(deviceId)) throw new DeviceNotFoundError(deviceId);
    const row = await this.hostPolicy.bindToDevices([deviceId], assembly, (uow) => this.assignments.pinRelease(uow, deviceId, releaseId));
    return this.changed(deviceId, row);
  }

  async unpin(deviceId: string): Promise<DeviceView> {
    return this.changed(deviceId, isValidDeviceId(deviceId) ? await this.assignments.unpin(deviceId) : undefined);
  }

  async setConfig(deviceId: string, config: ConfigMap): Promise<DeviceView> {
    return this.changed(deviceId, isValidDeviceId(deviceId) ? await this.assignments.setConfig(deviceId, config) : undefined);
  }

  /** Tags select devices (rollouts, lists); they are not part of the desired state, so no rev. */
  async setTags(deviceId: string, tags: readonly string[]): Promise<DeviceView> {
    const row = isValidDeviceId(deviceId) ? await this.assignments.setTags(deviceId, [...new Set(tags)].sort()) : undefined;
    if (!row) throw new DeviceNotFoundError(deviceId);
    return this.get(deviceId);
  }

  /**
   * Moves the device into `fleetId` (null: out of any fleet; the caller has checked that the fleet
   * exists). The release it will run there (its pin, else the fleet's target, else the one it
   * keeps) must suit the fleet's host policy (`HostPolicyService.bindMove`).
   */
  async moveToFleet(deviceId: string, fleetId: string | null): Promise<DeviceView> {
    if (!isValidDeviceId(deviceId)) throw new DeviceNotFoundError(deviceId);
    const row = await this.hostPolicy.bindMove(deviceId, fleetId, (uow) => this.assignments.moveToFleet(uow, deviceId, fleetId));
    return this.changed(deviceId, row);
  }

  /**
   * Assigns a fleet's target to the next `limit` (null: all) of its unpinned devices after
   * `after`, in id order, inside the caller's transaction `uow` (a fleet-target job's, which
   * records them with it); returns the ids that changed, and whether devices may be left for a
   * next segment. Nothing is published here: the job publishes them once `uow` committed.
   */
  assignFleetTargetSegment(
    uow: UnitOfWork,
    segment: { fleetId: string; releaseId: string; after: string | null; limit: number | null },
  ): Promise<{ ids: string[]; more: boolean }> {
    return this.assignments.assignFleetTargetSegment(uow, segment.fleetId, segment.releaseId, segment.after, segment.limit);
  }

  /** A fleet's configuration changed: all its devices get a new rev. */
  async fleetConfigChanged(fleetId: string): Promise<number> {
    const ids = await this.assignments.bumpFleetDevices(fleetId);
    await this.publishCurrent(ids);
    return ids.length;
  }

  /**
   * Revokes the credential (password and every certificate), then drops the live connection,
   * whichever listener it came through: the broker refuses the device's reconnect from then on.
   * Decommissioning twice is a no-op answered with the device.
   */
  async decommission(deviceId: string): Promise<DeviceView> {
    if (!isValidDeviceId(deviceId)) return this.get(deviceId);
    // Certificates first: should the rest fail, the device is already locked out of the broker.
    await this.certificates.revokeDevice(deviceId);
    const row = await this.assignments.decommission(deviceId);
    if (row) {
      // At once here; other replicas hear of it from the database (DeviceDirectory).
      this.directory.forget(deviceId);
      const dropped = await this.broker.disconnect(deviceId);
      this.logger.log(`device ${deviceId} decommissioned${dropped ? '; its connection was closed' : ''}`);
    }
    return this.get(deviceId);
  }

  /**
   * Publishes each device's desired state as the database holds it now. Failures are logged, never thrown.
   * Every state is read before the first publish: devices answer within milliseconds, and their
   * reports would otherwise queue in the connection pool ahead of the next batch's read (measured:
   * 10,000 devices took 30 s to publish that way, control-plane/bench/rollout.bench.ts).
   */
  async publishCurrent(deviceIds: readonly string[]): Promise<void> {
    await this.publisher.publish(await this.currentDesiredStates(deviceIds));
  }

  /** Each device's desired state as the database holds it now (unknown ids left out), for a `desiredFanout`. */
  async currentDesiredStates(deviceIds: readonly string[]): Promise<DesiredState[]> {
    const states: DesiredState[] = [];
    for (let i = 0; i < deviceIds.length; i += READ_BATCH)
      states.push(...(await this.records.findDesiredStates(deviceIds.slice(i, i + READ_BATCH))));
    return states;
  }

  /**
   * A fan-out fed with states as their writes commit (`assignReleaseToMany`'s): published as
   * given, the state that commit stored, without reading it back; `publishCurrent` for ids.
   * `known`: releases the caller read already (`releaseForDelivery`), not read again.
   */
  desiredFanout(known: readonly Release[] = []): DesiredFanout {
    return this.publisher.fanout(known);
  }

  /** The view answers with the rev and release this change wrote, even if a concurrent one has moved on since. */
  private async changed(deviceId: string, row: DeviceEntity | undefined): Promise<DeviceView> {
    if (!row) throw new DeviceNotFoundError(deviceId);
    await this.publishCurrent([deviceId]);
    return { ...(await this.get(deviceId)), desired: { rev: row.desiredRev, releaseId: row.desiredReleaseId } };
  }
}
