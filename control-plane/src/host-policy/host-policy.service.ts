import { Injectable } from '@nestjs/common';
import { EMPTY_HOST_POLICY, type AssemblySpec, type FleetHostPolicyView, type HostPolicy } from '@flotilla/shared';
import type { OperatorPrincipal } from '../auth/operator-principal';
import type { UnitOfWork } from '../database/unit-of-work';
import type { DomainIssue } from '../domain-error';
import { HostPolicyRepository, type DeviceFleet, type StoredHostPolicy } from './host-policy.repository';
import { HostPolicyFleetNotFoundError, HostPolicyInUseError, HostPowersNotAllowedError } from './host-policy.errors';
import { hostPowerViolations, type HostPowerViolation } from './host-powers';

/** Where a release is to run: a fleet by id, a device in no fleet (null), or a fleet being created. */
export type Placement = string | null | { newFleet: string };

/**
 * Host-level powers per fleet. A release is checked against the policy of every place it is
 * bound to: a fleet's target (and a new fleet's), a device's assignment or pin (its fleet's
 * policy; a device in no fleet gets the empty one), every device a rollout assigns, and a
 * device moving fleets. Not at publish: one release may serve several fleets.
 *
 * Check and write are one transaction, serialised per fleet with the policy's write by the
 * fleet's advisory lock (`LOCK_FLEETS_SQL`), taken before either reads: a policy narrowed while a
 * release is being bound is either seen by the check or sees the binding, never neither. Only
 * releases with a host-level power take the lock: no policy can refuse one without, so binding
 * it races with nothing (and rollouts of such releases stay lock-free).
 */
@Injectable()
export class HostPolicyService {
  constructor(private readonly policies: HostPolicyRepository) {}

  async get(fleetId: string, uow?: UnitOfWork): Promise<FleetHostPolicyView> {
    if ((await this.policies.fleetName(fleetId, uow)) === undefined) throw new HostPolicyFleetNotFoundError(fleetId);
    return toView(fleetId, (await this.policies.find([fleetId], uow)).get(fleetId));
  }

  async set(
    fleetId: string,
    policy: HostPolicy,
    actor: OperatorPrincipal,
  ): Promise<{ before: FleetHostPolicyView; after: FleetHostPolicyView }> {
    return this.policies.transaction(async (uow) => {
      // Any binding of a release with host powers under way in this fleet commits first, and is seen below.
      await this.policies.lockFleets(uow, [fleetId]);
      const before = await this.get(fleetId, uow);
      await this.assertAllowsWhatIsBound(uow, fleetId, policy);
      return { before, after: toView(fleetId, await this.policies.upsert(uow, fleetId, policy, actor.id)) };
    });
  }

  /**
   * Runs `write` (binding a release with `assembly` to `placement`) in one transaction after
   * `checkFleet` there, under the fleet's lock when the release has host-level powers.
   */
  bindToFleet<T>(placement: Placement, assembly: AssemblySpec, write: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.policies.transaction(async (uow) => {
      await this.checkFleet(uow, placement, assembly);
      return write(uow);
    });
  }

  /** Runs `write` (binding a release with `assembly` to the devices) in one transaction after `checkDevices`, under their fleets' locks. */
  bindToDevices<T>(deviceIds: readonly string[], assembly: AssemblySpec, write: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.policies.transaction(async (uow) => {
      await this.checkDevices(uow, deviceIds, assembly);
      return write(uow);
    });
  }

  /**
   * Runs `write` (moving the device into `fleetId`, null: out of any) in one transaction after
   * checking the release the device will run there (`deviceMove`) against that fleet's policy,
   * under the locks of both fleets, whatever the release: a check of the device in its old
   * fleet under way (an assignment, a pin) must not see it leave meanwhile.
   */
  bindMove<T>(deviceId: string, fleetId: string | null, write: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.policies.transaction(async (uow) => {
      const placed = await this.lockWhereDevicesAre(uow, [deviceId], fleetId === null ? [] : [fleetId]);
      const move = placed.length > 0 ? await this.policies.deviceMove(uow, deviceId, fleetId) : undefined;
      const assembly = move?.keeps ? await this.policies.assembly(uow, move.keeps) : undefined;
      if (assembly) await this.checkFleet(uow, fleetId, assembly);
      return write(uow);
    });
  }

  /** Throws unless `policy` allows every release the fleet is bound to; under the fleet's lock. */
  private async assertAllowsWhatIsBound(uow: UnitOfWork, fleetId: string, policy: HostPolicy): Promise<void> {
    const issues: DomainIssue[] = [];
    for (const bound of await this.policies.releasesBoundTo(uow, fleetId)) {
      const where = [bound.target ? "the fleet's target" : '', bound.devices > 0 ? `${bound.devices} device(s) of the fleet` : '']
        .filter((w) => w !== '')
        .join(' and ');
      for (const v of hostPowerViolations(bound.assembly, policy)) {
        issues.push({
          path: v.path,
          message: `${v.power} "${v.value}" of release ${bound.label} (${bound.releaseId}), bound to ${where}, would not be allowed`,
        });
      }
    }
    if (issues.length > 0) throw new HostPolicyInUseError((await this.policies.fleetName(fleetId, uow)) ?? fleetId, issues);
  }

  /**
   * Throws unless the policy of `placement` allows every host-level power of `assembly`. Inside
   * `uow` (a transaction that then binds the release), the fleet's lock is taken first and held
   * until it ends; without (`null`), a check only, which a later write must repeat.
   */
  async checkFleet(uow: UnitOfWork | null, placement: Placement, assembly: AssemblySpec): Promise<void> {
    const wanted = hostPowerViolations(assembly, EMPTY_HOST_POLICY);
    if (wanted.length === 0) return;
    if (placement === null || typeof placement === 'object') {
      const where = placement === null ? 'a device in no fleet' : `the new fleet "${placement.newFleet}"`;
      throw new HostPowersNotAllowedError(
        where,
        wanted.map((v) => noPolicy(v, where)),
      );
    }
    if (uow) await this.policies.lockFleets(uow, [placement]);
    const name = (await this.policies.fleetName(placement, uow)) ?? placement;
    const policy = (await this.policies.find([placement], uow)).get(placement)?.policy ?? EMPTY_HOST_POLICY;
    const violations = hostPowerViolations(assembly, policy);
    if (violations.length > 0) {
      throw new HostPowersNotAllowedError(
        `fleet "${name}"`,
        violations.map((v) => notAllowed(v, name, placement)),
      );
    }
  }

  /** Throws unless the policy of each device's fleet allows every host-level power of `assembly`; `uow` as for `checkFleet`. */
  async checkDevices(uow: UnitOfWork | null, deviceIds: readonly string[], assembly: AssemblySpec): Promise<void> {
    const issues = new Map<string, DomainIssue>();
    for (const refused of (await this.refusedDevices(uow, deviceIds, assembly)).values()) {
      for (const i of refused) issues.set(`${i.path} ${i.message}`, i);
    }
    if (issues.size > 0) throw new HostPowersNotAllowedError('the fleet of a selected device', [...issues.values()]);
  }

  /**
   * The devices among `deviceIds` whose fleet's policy (the empty one outside a fleet) does not
   * allow every host-level power of `assembly`, each with its issues; read where they are now.
   * Inside `uow`, under the locks of their fleets, held until it ends: neither those policies
   * nor the devices' fleets change before the caller's write commits.
   */
  async refusedDevices(uow: UnitOfWork | null, deviceIds: readonly string[], assembly: AssemblySpec): Promise<Map<string, DomainIssue[]>> {
    const refused = new Map<string, DomainIssue[]>();
    // Most releases use no host power: then no policy needs reading, nor any lock taking.
    if (deviceIds.length === 0 || hostPowerViolations(assembly, EMPTY_HOST_POLICY).length === 0) return refused;
    const placed = uow ? await this.lockWhereDevicesAre(uow, deviceIds) : await this.policies.fleetsOfDevices(deviceIds);
    const stored = await this.policies.find([...new Set(placed.flatMap((d) => (d.fleetId ? [d.fleetId] : [])))], uow);
    for (const d of placed) {
      const policy = (d.fleetId && stored.get(d.fleetId)?.policy) || EMPTY_HOST_POLICY;
      const issues = hostPowerViolations(assembly, policy).map((v) =>
        d.fleetId ? notAllowed(v, d.fleetName ?? d.fleetId, d.fleetId) : noPolicy(v, `device ${d.deviceId}, in no fleet`),
      );
      if (issues.length > 0) refused.set(d.deviceId, issues);
    }
    return refused;
  }

  /**
   * Locks the fleets the devices are in (and `also`), and answers where they are, read under
   * those locks. A device can leave a fleet only under its lock (`bindMove`), so one that moved
   * between the read and the lock is seen in its new fleet by the read after, whose lock is then
   * taken too; in key order each round (a later round may wait out of order: a deadlock there is
   * PostgreSQL's to break, and the transaction is run again).
   */
  private async lockWhereDevicesAre(uow: UnitOfWork, deviceIds: readonly string[], also: readonly string[] = []): Promise<DeviceFleet[]> {
    const locked = new Set<string>();
    let wanted = [...also, ...(await this.policies.fleetsOfDevices(deviceIds, uow)).flatMap((d) => (d.fleetId ? [d.fleetId] : []))];
    for (;;) {
      const missing = [...new Set(wanted)].filter((id) => !locked.has(id));
      await this.policies.lockFleets(uow, missing);
      for (const id of missing) locked.add(id);
      const placed = await this.policies.fleetsOfDevices(deviceIds, uow);
      if (placed.every((d) => d.fleetId === null || locked.has(d.fleetId))) return placed;
      wanted = placed.flatMap((d) => (d.fleetId ? [d.fleetId] : []));
    }
  }
}

function notAllowed(v: HostPowerViolation, fleetName: string, fleetId: string): DomainIssue {
  return {
    path: v.path,
    message: `${v.power} "${v.value}" is not allowed on fleet "${fleetName}"; an admin allows it with PUT /api/v1/fleets/${fleetId}/host-policy ${JSON.stringify(v.allowWith)}`,
  };
}

/** Where no admin can have set a policy: a device in no fleet, a fleet being created. */
function noPolicy(v: HostPowerViolation, where: string): DomainIssue {
  return {
    path: v.path,
    message: `${v.power} "${v.value}" is not allowed on ${where}, which has no host policy; bind the release through a fleet whose host policy allows it`,
  };
}

function toView(fleetId: string, stored: StoredHostPolicy | undefined): FleetHostPolicyView {
  return {
    fleetId,
    policy: stored?.policy ?? EMPTY_HOST_POLICY,
    updatedAt: stored?.updatedAt.toISOString() ?? null,
    updatedBy: stored?.updatedBy ?? null,
  };
}
