import { Injectable } from '@nestjs/common';
import type { AssemblySpec, ReleaseView, RolloutPlan, RolloutPlanDevice, RolloutPlanRequest } from '@flotilla/shared';
import { ReleasesService } from '../releases/releases.service';
import { PhasePlacementError, phaseName, placeDevices } from './place-devices';
import { planChanges } from './release-diff';
import { RolloutRepository } from './rollout.repository';
import { EmptySelectionError, InvalidPhasesError } from './rollouts.errors';

const SIZES_UNKNOWN =
  'download sizes are unknown: releases record images by digest but not their sizes, and the registry is not asked; imagesToFetch lists what each device would pull';

/** The dry run of a rollout: who lands in which phase, and what changes on each device. Writes nothing. */
@Injectable()
export class RolloutPlanService {
  constructor(
    private readonly rollouts: RolloutRepository,
    private readonly releases: ReleasesService,
  ) {}

  async plan(request: RolloutPlanRequest): Promise<RolloutPlan> {
    const target = await this.releases.get(request.releaseId);
    const selected = await this.rollouts.selectDevices(request.selection);
    if (selected.length === 0) throw new EmptySelectionError();
    let placement: Map<string, number>;
    try {
      placement = placeDevices(
        selected.map((d) => d.id),
        request.phases,
      );
    } catch (e) {
      if (e instanceof PhasePlacementError) throw new InvalidPhasesError(e.message);
      throw e;
    }
    const current = new Map<string, ReleaseView | null>();
    const releaseOf = async (id: string | null): Promise<ReleaseView | null> => {
      if (id === null) return null;
      if (!current.has(id)) current.set(id, await this.releases.get(id).catch(() => null));
      return current.get(id) ?? null;
    };
    const devices: RolloutPlanDevice[] = [];
    for (const d of selected) {
      // What the device runs, as it reported; else what it was last told to run.
      const runningId = d.reported?.update?.active?.releaseId ?? d.desiredReleaseId;
      const from = await releaseOf(runningId);
      const onTarget = from?.id === target.id;
      const diff = onTarget
        ? { changes: [], imagesToFetch: [] }
        : planChanges((from?.assembly as AssemblySpec | undefined) ?? null, target.assembly);
      devices.push({
        deviceId: d.id,
        name: d.name,
        phase: placement.get(d.id)!,
        currentReleaseId: runningId,
        currentVersion: from?.version ?? null,
        targetVersion: target.version,
        alreadyOnTarget: onTarget,
        changes: diff.changes,
        imagesToFetch: diff.imagesToFetch,
        downloadBytes: null,
      });
    }
    return {
      releaseId: target.id,
      targetVersion: target.version,
      phases: request.phases.map((p, index) => ({
        index,
        name: phaseName(p, index),
        devices: devices.filter((d) => d.phase === index).length,
      })),
      devices,
      downloadBytes: null,
      notes: [SIZES_UNKNOWN],
    };
  }
}
