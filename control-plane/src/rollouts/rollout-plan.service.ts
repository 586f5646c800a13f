import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  nextWindow,
  imageRepository,
  type AssemblySpec,
  type ReleaseView,
  type RolloutPlan,
  type RolloutPlanDevice,
  type RolloutPlanRequest,
  type WindowSchedule,
  normalRequest,
  platformOfMachine,
  requestOfPlatform,
} from '@flotilla/shared';
import { DeltaRepository } from '../deltas/delta.repository';
import { RegistriesService } from '../registries/registries.service';
import { ReleasesService } from '../releases/releases.service';
import { PhasePlacementError, phaseName, placeDevices } from './place-devices';
import { planChanges } from './release-diff';
import { RolloutSelectionRepository } from './rollout-selection.repository';
import { CLOCK, type Clock } from './rollout-settings';
import { EmptySelectionError, InvalidPhasesError } from './rollouts.errors';

/** The architectures image platforms name that devices run; another inventory value is unknown. */
const KNOWN_ARCHITECTURES = new Set(['amd64', 'arm64', 'arm', '386']);

/** An inventory's architecture (uname, or Node's `os.arch()` from older agents) as a platform request (`arm/v7`), as its agent asks for deltas. */
function platformRequestOf(arch: string): string | undefined {
  const platform = platformOfMachine(arch);
  return KNOWN_ARCHITECTURES.has(platform.architecture) ? normalRequest(requestOfPlatform(platform)) : undefined;
}

/** The dry run of a rollout: who lands in which phase, and what changes on each device. Writes nothing. */
@Injectable()
export class RolloutPlanService {
  constructor(
    private readonly selection: RolloutSelectionRepository,
    private readonly releases: ReleasesService,
    private readonly registries: RegistriesService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() private readonly deltas?: DeltaRepository,
  ) {}

  async plan(request: RolloutPlanRequest): Promise<RolloutPlan> {
    const target = await this.releases.get(request.releaseId);
    const selected = await this.selection.selectDevices(request.selection);
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
    const sizeOf = this.registries.imageSizes();
    const deltaBytesOf = deltaBytesFor(this.deltas, target);
    const now = this.clock.now();
    const unknown = { arch: 0, size: new Set<string>() };
    const devices: RolloutPlanDevice[] = [];
    for (const d of selected) {
      // What the device runs, as it reported; else what it was last told to run.
      const runningId = d.reported?.update?.active?.releaseId ?? d.desiredReleaseId;
      const from = await releaseOf(runningId);
      const onTarget = from?.id === target.id;
      const diff = onTarget
        ? { changes: [], imagesToFetch: [] }
        : planChanges((from?.assembly as AssemblySpec | undefined) ?? null, target.assembly);
      const os = target.assembly.os?.find((o) => o.board === d.board);
      const osImage = os && !onTarget && d.reported?.os?.version !== os.version ? { version: os.version, sizeBytes: os.size } : null;
      // Image sizes differ per architecture (multi-arch images): the device's own, from its inventory.
      const arch = d.arch ? platformRequestOf(d.arch) : undefined;
      if (!arch && diff.imagesToFetch.length > 0) unknown.arch += 1;
      const sizes = arch ? await Promise.all(diff.imagesToFetch.map((ref) => sizeOf(ref, arch))) : diff.imagesToFetch.map(() => undefined);
      diff.imagesToFetch.forEach((ref, i) => sizes[i] === undefined && arch && unknown.size.add(ref));
      const known = sizes.every((b) => b !== undefined);
      const withDeltas = known && arch ? await deltaBytesOf(from, arch) : undefined;
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
        osImage,
        nextWindow: planWindow(d.windows, d.timeZone, now),
        downloadBytes: known ? sizes.reduce((sum: number, b) => sum + b!, 0) + (osImage?.sizeBytes ?? 0) : null,
        deltaDownloadBytes: known
          ? diff.imagesToFetch.reduce((sum: number, ref, i) => sum + (withDeltas?.get(ref) ?? sizes[i]!), 0) + (osImage?.sizeBytes ?? 0)
          : null,
      });
    }
    const notes = [
      ...(unknown.arch > 0 ? [`${unknown.arch} device(s) have not reported their architecture yet: their image sizes are unknown`] : []),
      ...(unknown.size.size > 0
        ? [
            `the registry did not tell the size of ${[...unknown.size].sort().join(', ')} (unreachable, or a login is missing: flotilla registries set)`,
          ]
        : []),
    ];
    return {
      releaseId: target.id,
      targetVersion: target.version,
      phases: request.phases.map((p, index) => ({
        index,
        name: phaseName(p, index),
        devices: devices.filter((d) => d.phase === index).length,
      })),
      devices,
      downloadBytes: devices.reduce((sum, d) => sum + (d.downloadBytes ?? 0), 0),
      deltaDownloadBytes: devices.reduce((sum, d) => sum + (d.deltaDownloadBytes ?? 0), 0),
      notes,
    };
  }
}

/** Per (release the device runs, architecture): the bytes of each target image with a ready delta from that release's image of the same repository. */
function deltaBytesFor(
  deltas: DeltaRepository | undefined,
  target: ReleaseView,
): (from: ReleaseView | null, arch: string) => Promise<Map<string, number>> {
  const memo = new Map<string, Promise<Map<string, number>>>();
  return (from, arch) => {
    if (!deltas || !from) return Promise.resolve(new Map());
    const key = `${from.id} ${arch}`;
    if (!memo.has(key)) {
      const images = (r: ReleaseView) => (r.assembly as AssemblySpec).components.map((c) => c.image);
      memo.set(
        key,
        deltas.findReady(images(from), images(target), arch).then((found) => {
          // A delta only counts from the image of the same repository (the one the agent patches from).
          const same = found.filter((d) => imageRepository(d.from) === imageRepository(d.to) && d.deltaBytes !== null);
          return new Map(same.map((d) => [d.to, d.deltaBytes!]));
        }),
      );
    }
    return memo.get(key)!;
  };
}

/** The device's next maintenance window as the plan shows it; an unknown zone reads as UTC, as the agent does. */
function planWindow(windows: WindowSchedule | null, timeZone: string | null, now: number): RolloutPlanDevice['nextWindow'] {
  if (!windows?.length) return null;
  let zone = timeZone ?? 'UTC';
  let state;
  try {
    state = nextWindow(windows, zone, now);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    zone = 'UTC';
    state = nextWindow(windows, zone, now);
  }
  if (!state) return null;
  const iso = (ms: number) => new Date(ms).toISOString();
  return { open: state.open, opensAt: state.open ? null : iso(state.opensAt), closesAt: iso(state.closesAt), timeZone: zone };
}
