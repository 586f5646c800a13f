import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type {
  CreateRolloutRequest,
  Page,
  PageQuery,
  RolloutDeviceState,
  RolloutDeviceView,
  RolloutListQuery,
  RolloutView,
} from '@flotilla/shared';
import { HostPolicyService } from '../host-policy/host-policy.service';
import type { OperatorPrincipal } from '../auth/operator-principal';
import type { UnitOfWork } from '../database/unit-of-work';
import { retryTransientWithin } from '../database/write-alone';
import type { DesiredState } from '../devices/device-record.repository';
import { DevicesService } from '../devices/devices.service';
import { DomainError } from '../domain-error';
import { decodeCursor, encodeCursor } from '../http/cursor';
import { createIdempotently, requestDigest } from '../http/idempotency';
import { isUuid } from '../ids';
import { ReleasesService } from '../releases/releases.service';
import { applyOperatorCommand, rollbackTargets, type OperatorCommand } from './operator-commands';
import { PhasePlacementError, phaseName, placeDevices } from './place-devices';
import { RolloutEngine } from './rollout-engine';
import { countsOf, toRolloutDeviceView, toRolloutView } from './rollout.mapper';
import type { RolloutRecord } from './rollout-rows';
import { RolloutSelectionRepository } from './rollout-selection.repository';
import { RolloutViewRepository } from './rollout-views.repository';
import { RolloutRepository } from './rollout.repository';
import { CLOCK, type Clock } from './rollout-settings';
import { pendingDevice, type RolloutDevice, type RolloutState } from './rollout-state';
import {
  DevicesInActiveRolloutError,
  EmptySelectionError,
  InvalidPhasesError,
  RolloutNotFoundError,
  RolloutTransitionError,
} from './rollouts.errors';

/** How long an operator's command is run again after transient errors. */
const COMMAND_RETRY_MS = 10_000;

export type CreateOutcome = { status: 'created' | 'replayed'; rollout: RolloutView };

/** What operators do with rollouts. The decisions themselves are `decide`, run by the engine. */
@Injectable()
export class RolloutsService {
  private readonly logger = new Logger('Rollouts');

  constructor(
    private readonly rollouts: RolloutRepository,
    private readonly views: RolloutViewRepository,
    private readonly selection: RolloutSelectionRepository,
    private readonly releases: ReleasesService,
    private readonly devices: DevicesService,
    private readonly engine: RolloutEngine,
    private readonly hostPolicy: HostPolicyService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Creates a rollout in phase 0, running; the engine assigns the first devices right after.
   * With an idempotency key, the same request again answers the rollout it created (a retry
   * after a lost response must not start a second rollout); a different request is refused.
   */
  create(request: CreateRolloutRequest, actor: OperatorPrincipal, idempotencyKey?: string): Promise<CreateOutcome> {
    const digest = requestDigest(request);
    return createIdempotently({
      key: idempotencyKey,
      digest,
      kind: 'rollout',
      findByKey: (key) => this.rollouts.findIdByIdempotencyKey(key),
      replay: async (id) => ({ status: 'replayed', rollout: await this.get(id) }),
      create: () => this.createNew(request, actor, digest, idempotencyKey),
    });
  }

  private async createNew(
    request: CreateRolloutRequest,
    actor: OperatorPrincipal,
    digest: string,
    idempotencyKey?: string,
  ): Promise<CreateOutcome> {
    const release = await this.releases.get(request.releaseId);
    const selected = await this.selection.selectDeviceIds(request.selection);
    if (selected.length === 0) throw new EmptySelectionError();
    // Refused early when already refused; what binds is the engine's check of each device as it assigns it.
    await this.hostPolicy.checkDevices(null, selected, release.assembly);
    const conflicts = await this.selection.devicesInActiveRollouts(selected);
    if (conflicts.length > 0) throw new DevicesInActiveRolloutError(conflicts);
    let placement: Map<string, number>;
    try {
      placement = placeDevices(selected, request.phases);
    } catch (e) {
      if (e instanceof PhasePlacementError) throw new InvalidPhasesError(e.message);
      throw e;
    }
    const state: RolloutState = {
      id: randomUUID(),
      releaseId: release.id,
      status: 'running',
      statusReason: null,
      advance: request.advance,
      currentPhase: 0,
      deviceTimeoutMs: request.deviceTimeoutSeconds * 1000,
      force: request.force ?? false,
      phases: request.phases.map((p, i) => ({
        name: phaseName(p, i),
        successThreshold: p.successThreshold,
        failureThreshold: p.failureThreshold,
        onFailure: p.onFailure,
      })),
      devices: selected.map((id): RolloutDevice => pendingDevice(id, placement.get(id)!)),
    };
    const record = await this.rollouts.transaction((uow) =>
      this.rollouts.insert(uow, {
        state,
        name: request.name ?? `${release.name} ${release.version}`,
        selection: request.selection,
        requestDigest: digest,
        createdBy: actor.id,
        idempotencyKey: idempotencyKey ?? null,
      }),
    );
    this.engine.started();
    // From what was written, not read back: the engine's first pass is reading and writing the
    // same rows now, and a 10,000-device rollout's counts took ~50 ms of the database's time there
    // (BENCHMARKS.md, "session 20"). The view is the rollout as created, every device pending.
    return { status: 'created', rollout: toRolloutView(record, countsOf(state)) };
  }

  async list(filter: RolloutListQuery, page: PageQuery): Promise<Page<RolloutView>> {
    const position = decodeCursor(page.cursor, ['timestamp', 'uuid']) as [string, string] | undefined;
    const records = await this.views.list(filter, page.limit + 1, position);
    const more = records.length > page.limit;
    const shown = more ? records.slice(0, page.limit) : records;
    const counts = await this.views.countsByPhase(shown.map((r) => r.state.id));
    const last = shown.at(-1);
    return {
      items: shown.map((r) => toRolloutView(r, counts.get(r.state.id))),
      nextCursor: more && last ? encodeCursor([last.createdAt.toISOString(), last.state.id]) : null,
    };
  }

  async get(id: string): Promise<RolloutView> {
    const record = await this.find(id);
    const [counts, acceptances] = await Promise.all([this.views.countsByPhase([id]), this.views.acceptances(id)]);
    return toRolloutView(record, counts.get(id), acceptances);
  }

  async devicesOf(id: string, filter: { state?: RolloutDeviceState | undefined }, page: PageQuery): Promise<Page<RolloutDeviceView>> {
    // The request's own fault (400) before the lookup's (404).
    const position = decodeCursor(page.cursor, ['deviceId']);
    await this.find(id);
    const rows = await this.views.listDevices(id, filter, page.limit + 1, position ? String(position[0]) : undefined);
    const more = rows.length > page.limit;
    const shown = more ? rows.slice(0, page.limit) : rows;
    return { items: shown.map(toRolloutDeviceView), nextCursor: more ? encodeCursor([shown.at(-1)!.deviceId]) : null };
  }

  /**
   * pause, resume, advance, abort, rollback. Holds the rollout's row while it changes, so the
   * engine's pass and the command never interleave. "rollback" re-targets every device the
   * rollout assigned to its previous release.
   */
  async command(id: string, command: OperatorCommand, actor: OperatorPrincipal): Promise<RolloutView> {
    if (!isUuid(id)) throw new RolloutNotFoundError(id);
    // Run again after a transient error: rolling back waits for the locks of the devices' fleets
    // (HostPolicyService), where a deadlock may end it; past the deadline, 503 (ApiExceptionFilter).
    const retargeted = await retryTransientWithin(COMMAND_RETRY_MS, () =>
      this.rollouts.transaction(async (uow) => {
        if (!(await this.rollouts.lock(uow, id))) throw new RolloutNotFoundError(id);
        const record = (await this.rollouts.load(uow, id))!;
        const outcome = applyOperatorCommand(record.state, command, actor, this.clock.now());
        if (!outcome.ok) throw new RolloutTransitionError(id, outcome.reason);
        const rolledBack = command === 'rollback' ? await this.rollBackDevices(uow, outcome.state) : { state: outcome.state, assigned: [] };
        await this.rollouts.save(uow, record.state, rolledBack.state);
        return rolledBack.assigned;
      }),
    );
    // Once committed, as the engine does: devices hear only of revs that are stored, those the
    // assignment returned (no read back).
    const fanout = this.devices.desiredFanout();
    void fanout.add(retargeted);
    await fanout.end();
    this.engine.kick();
    return this.get(id);
  }

  /** One statement per previous release, in the command's transaction; returns the state with its notes and the devices re-targeted. */
  private async rollBackDevices(uow: UnitOfWork, state: RolloutState): Promise<{ state: RolloutState; assigned: DesiredState[] }> {
    const { targets, skipped } = rollbackTargets(state);
    const byRelease = new Map<string, string[]>();
    for (const t of targets) {
      const ids = byRelease.get(t.releaseId) ?? [];
      ids.push(t.deviceId);
      byRelease.set(t.releaseId, ids);
    }
    const assigned: DesiredState[] = [];
    const failures: string[] = [];
    for (const [releaseId, deviceIds] of byRelease) {
      try {
        const release = await this.devices.releaseForDelivery(releaseId);
        // A device that moved fleets since it ran the previous release may not be allowed it now.
        // Under their fleets' locks until the command commits, with the assignment below.
        const refused = await this.hostPolicy.refusedDevices(uow, deviceIds, release.assembly);
        for (const [deviceId, issues] of refused) failures.push(`${deviceId}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
        const allowed = deviceIds.filter((id) => !refused.has(id));
        const states = await this.devices.assignReleaseToMany(uow, allowed, release);
        for (const deviceId of allowed) {
          const desired = states.get(deviceId);
          if (desired) assigned.push(desired);
          else failures.push(`${deviceId}: unknown or decommissioned`);
        }
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        failures.push(...deviceIds.map((deviceId) => `${deviceId}: ${e.message}`));
      }
    }
    const notes = [
      `re-targeted ${assigned.length} device(s) to their previous release`,
      skipped.length > 0 ? `left ${skipped.length} without a previous release as they are` : '',
      failures.length > 0 ? `could not re-target ${failures.join('; ')}` : '',
    ].filter(Boolean);
    if (failures.length > 0) this.logger.warn(`rollout ${state.id}: roll back: ${failures.join('; ')}`);
    return { state: { ...state, statusReason: `${state.statusReason ?? 'rolled back'}: ${notes.join(', ')}` }, assigned };
  }

  private async find(id: string): Promise<RolloutRecord> {
    const record = isUuid(id) ? await this.rollouts.load(undefined, id, false) : undefined;
    if (!record) throw new RolloutNotFoundError(id);
    return record;
  }
}
