import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  DEFAULT_CERTIFICATE_VALIDITY_SECONDS,
  type ConfigMap,
  type CreateFleetRequest,
  type DeviceView,
  type FleetTargetJobView,
  type FleetView,
  type Release,
  type SetFleetTargetResponse,
  type SetFleetUpdatePolicyRequest,
} from '@flotilla/shared';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { DevicesService } from '../devices/devices.service';
import { HostPolicyService } from '../host-policy/host-policy.service';
import { isUuid } from '../ids';
import { GrantedFleetNeedsAdminError } from '../registries/registries.errors';
import { RegistriesService } from '../registries/registries.service';
import { ReleasesService } from '../releases/releases.service';
import { toFleetView } from './fleet.mapper';
import { FleetRepository } from './fleet.repository';
import { FleetTargetJobRepository } from './fleet-target-job.repository';
import { FleetTargetJobs } from './fleet-target-jobs';
import { unsupportedBoards } from './board-compatibility';
import {
  FleetNameConflictError,
  FleetNotFoundError,
  FleetTargetJobNotFoundError,
  ReleaseIncompatibleWithFleetError,
} from './fleets.errors';

/**
 * Fleets: devices that share a target release and a configuration. Setting the target
 * assigns it to every unpinned device of the fleet, in a background job (fleet-target-jobs.ts;
 * phased rollouts build on `DevicesService.assignRelease` instead).
 */
@Injectable()
export class FleetsService {
  constructor(
    private readonly fleets: FleetRepository,
    private readonly devices: DevicesService,
    private readonly releases: ReleasesService,
    private readonly hostPolicy: HostPolicyService,
    private readonly registries: RegistriesService,
    private readonly targetJobs: FleetTargetJobRepository,
    private readonly targetRunner: FleetTargetJobs,
  ) {}

  async create(request: CreateFleetRequest): Promise<FleetView> {
    if (request.targetReleaseId) {
      const release = await this.checkCompatible(request.name, request.boards, request.targetReleaseId);
      // A new fleet has no policy yet, so nothing to serialise with: a release with host powers is refused.
      await this.hostPolicy.checkFleet(null, { newFleet: request.name }, release.assembly);
    }
    const id = randomUUID();
    const inserted = await this.fleets.insertUnlessNameTaken({
      id,
      name: request.name,
      boards: request.boards,
      config: request.config,
      targetReleaseId: request.targetReleaseId,
      certificateValiditySeconds: request.certificateValiditySeconds,
    });
    if (!inserted) throw new FleetNameConflictError(request.name);
    return this.get(id);
  }

  async list(): Promise<FleetView[]> {
    return (await this.fleets.listRecords()).map(toFleetView);
  }

  async get(id: string): Promise<FleetView> {
    const record = isUuid(id) ? await this.fleets.findRecord(id) : undefined;
    if (!record) throw new FleetNotFoundError(id);
    return toFleetView(record);
  }

  async setCertificateValidity(id: string, seconds: number): Promise<FleetView> {
    if (!isUuid(id) || !(await this.fleets.setCertificateValidity(id, seconds))) throw new FleetNotFoundError(id);
    return this.get(id);
  }

  /** How long certificates issued to a device of this fleet (or of no fleet) are valid. */
  async certificateValiditySeconds(fleetId: string | null): Promise<number> {
    const fleet = fleetId ? await this.fleets.findById(fleetId) : null;
    return fleet?.certificateValiditySeconds ?? DEFAULT_CERTIFICATE_VALIDITY_SECONDS;
  }

  /** Throws `fleet_not_found` unless the fleet exists. */
  async assertExists(id: string): Promise<void> {
    if (!isUuid(id) || !(await this.fleets.findById(id))) throw new FleetNotFoundError(id);
  }

  /**
   * Sets the fleet's target and starts its assignment in the background: answers at once with
   * the job to follow (`job`), whatever the fleet's size.
   */
  async setTarget(id: string, releaseId: string): Promise<SetFleetTargetResponse> {
    const fleet = isUuid(id) ? await this.fleets.findById(id) : null;
    if (!fleet) throw new FleetNotFoundError(id);
    const release = await this.checkCompatible(fleet.name, fleet.boards, releaseId);
    const jobId = randomUUID();
    const job = await this.hostPolicy.bindToFleet(id, release.assembly, (uow) =>
      this.targetJobs.createForTarget(uow, jobId, id, releaseId),
    );
    if (!job) throw new FleetNotFoundError(id);
    this.targetRunner.start(job.view.id);
    return { fleet: await this.get(id), job: job.view };
  }

  async targetJob(jobId: string): Promise<FleetTargetJobView> {
    const job = isUuid(jobId) ? await this.targetJobs.findView(jobId) : undefined;
    if (!job) throw new FleetTargetJobNotFoundError(jobId);
    return job;
  }

  async setConfig(id: string, config: ConfigMap): Promise<FleetView> {
    if (!isUuid(id) || !(await this.fleets.setConfig(id, config))) throw new FleetNotFoundError(id);
    await this.devices.fleetConfigChanged(id);
    return this.get(id);
  }

  /** The fleet's update policy is part of every member's desired state: each gets a new rev. */
  async setUpdatePolicy(id: string, policy: SetFleetUpdatePolicyRequest): Promise<FleetView> {
    if (!isUuid(id) || !(await this.fleets.setUpdatePolicy(id, policy.lockMaxDeferSeconds, policy.windows)))
      throw new FleetNotFoundError(id);
    await this.devices.fleetConfigChanged(id);
    return this.get(id);
  }

  /**
   * Moves a device into `fleetId` (null: out of any fleet); an unpinned device takes the fleet's target.
   * Into a fleet holding a registry login grant only with an admin key: its devices may receive that login.
   */
  async moveDevice(deviceId: string, fleetId: string | null, actor: OperatorPrincipal): Promise<DeviceView> {
    if (fleetId !== null) await this.assertExists(fleetId);
    if (fleetId !== null && actor.role !== 'admin' && (await this.registries.fleetHasGrants(fleetId)))
      throw new GrantedFleetNeedsAdminError(fleetId, 'moving a device into it');
    return this.devices.moveToFleet(deviceId, fleetId);
  }

  /** Throws when the release does not exist or does not run on every board of the fleet. */
  private async checkCompatible(fleet: string, boards: readonly string[], releaseId: string): Promise<Release> {
    const release = await this.releases.getForDelivery(releaseId);
    const unsupported = unsupportedBoards(boards, release.assembly.boards);
    if (unsupported.length > 0) throw new ReleaseIncompatibleWithFleetError(fleet, release.assembly.version, unsupported);
    return release;
  }
}
