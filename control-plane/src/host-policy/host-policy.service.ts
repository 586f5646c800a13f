import { Injectable } from '@nestjs/common';
import { EMPTY_HOST_POLICY, type AssemblySpec, type FleetHostPolicyView, type HostPolicy } from '@flotilla/shared';
import type { OperatorPrincipal } from '../auth/operator-principal';
import type { DomainIssue } from '../domain-error';
import { HostPolicyRepository, type StoredHostPolicy } from './host-policy.repository';
import { HostPolicyFleetNotFoundError, HostPolicyInUseError, HostPowersNotAllowedError } from './host-policy.errors';
import { hostPowerViolations, type HostPowerViolation } from './host-powers';

/** Where a release is to run: a fleet by id, a device in no fleet (null), or a fleet being created. */
export type Placement = string | null | { newFleet: string };

/**
 * Host-level powers per fleet. A release is checked against the policy of every place it is
 * bound to: a fleet's target (and a new fleet's), a device's assignment or pin (its fleet's
 * policy; a device in no fleet gets the empty one), every device a rollout selects, and a
 * pinned device moving fleets. Not at publish: one release may serve several fleets.
 */
@Injectable()
export class HostPolicyService {
  constructor(private readonly policies: HostPolicyRepository) {}

  async get(fleetId: string): Promise<FleetHostPolicyView> {
    if ((await this.policies.fleetName(fleetId)) === undefined) throw new HostPolicyFleetNotFoundError(fleetId);
    return toView(fleetId, (await this.policies.find([fleetId])).get(fleetId));
  }

  async set(
    fleetId: string,
    policy: HostPolicy,
    actor: OperatorPrincipal,
  ): Promise<{ before: FleetHostPolicyView; after: FleetHostPolicyView }> {
    const before = await this.get(fleetId);
    await this.assertAllowsWhatIsBound(fleetId, policy);
    return { before, after: toView(fleetId, await this.policies.upsert(fleetId, policy, actor.id)) };
  }

  /** Throws unless `policy` allows every release the fleet is bound to. */
  private async assertAllowsWhatIsBound(fleetId: string, policy: HostPolicy): Promise<void> {
    const issues: DomainIssue[] = [];
    for (const bound of await this.policies.releasesBoundTo(fleetId)) {
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
    if (issues.length > 0) throw new HostPolicyInUseError((await this.policies.fleetName(fleetId)) ?? fleetId, issues);
  }

  /** Throws unless the policy of `placement` allows every host-level power of `assembly`. */
  async checkFleet(placement: Placement, assembly: AssemblySpec): Promise<void> {
    const wanted = hostPowerViolations(assembly, EMPTY_HOST_POLICY);
    if (wanted.length === 0) return;
    if (placement === null || typeof placement === 'object') {
      const where = placement === null ? 'a device in no fleet' : `the new fleet "${placement.newFleet}"`;
      throw new HostPowersNotAllowedError(
        where,
        wanted.map((v) => noPolicy(v, where)),
      );
    }
    const name = (await this.policies.fleetName(placement)) ?? placement;
    const policy = (await this.policies.find([placement])).get(placement)?.policy ?? EMPTY_HOST_POLICY;
    const violations = hostPowerViolations(assembly, policy);
    if (violations.length > 0) {
      throw new HostPowersNotAllowedError(
        `fleet "${name}"`,
        violations.map((v) => notAllowed(v, name, placement)),
      );
    }
  }

  /** Throws unless the policy of each device's fleet allows every host-level power of `assembly`. */
  async checkDevices(deviceIds: readonly string[], assembly: AssemblySpec): Promise<void> {
    const issues = new Map<string, DomainIssue>();
    for (const refused of (await this.refusedDevices(deviceIds, assembly)).values()) {
      for (const i of refused) issues.set(`${i.path} ${i.message}`, i);
    }
    if (issues.size > 0) throw new HostPowersNotAllowedError('the fleet of a selected device', [...issues.values()]);
  }

  /**
   * The devices among `deviceIds` whose fleet's policy (the empty one outside a fleet) does not
   * allow every host-level power of `assembly`, each with its issues; read where they are now.
   */
  async refusedDevices(deviceIds: readonly string[], assembly: AssemblySpec): Promise<Map<string, DomainIssue[]>> {
    const refused = new Map<string, DomainIssue[]>();
    // Most releases use no host power: then no policy needs reading.
    if (deviceIds.length === 0 || hostPowerViolations(assembly, EMPTY_HOST_POLICY).length === 0) return refused;
    const placed = await this.policies.fleetsOfDevices(deviceIds);
    const stored = await this.policies.find([...new Set(placed.flatMap((d) => (d.fleetId ? [d.fleetId] : [])))]);
    for (const d of placed) {
      const policy = (d.fleetId && stored.get(d.fleetId)?.policy) || EMPTY_HOST_POLICY;
      const issues = hostPowerViolations(assembly, policy).map((v) =>
        d.fleetId ? notAllowed(v, d.fleetName ?? d.fleetId, d.fleetId) : noPolicy(v, `device ${d.deviceId}, in no fleet`),
      );
      if (issues.length > 0) refused.set(d.deviceId, issues);
    }
    return refused;
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
