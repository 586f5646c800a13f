import type { ChannelPayload, DeviceChannel, Inventory, LocalStatus } from '@flotilla/shared/device';
import type { CommandGate } from './admission/command-gate';
import type { DesiredGate } from './admission/desired-gate';
import type { TelemetrySample } from './hardware/telemetry';
import type { EventOutbox } from './link/outbox';
import type { OsUpdates } from './os-update/os-updates';
import type { ContainerRuntime } from './runtime/container-runtime';
import type { SelfUpdate } from './self-update/self-update';
import type { Clock } from './support/clock';
import type { Logger } from './support/logger';
import type { LockStore } from './update/locks/lock-store';
import type { UpdaterDeps, UpdaterSettings } from './update/updater';

/** Where the agent's messages go; `MqttLink` in production. */
export interface Uplink {
  /** `delivered`: the broker acknowledged it; `failed`: the client gave it up and will not send it again itself. */
  publish<C extends DeviceChannel>(channel: C, value: ChannelPayload<C>, delivered?: () => void, failed?: (err: Error) => void): void;
  readonly connected: boolean;
}

export interface AgentSettings {
  /** `reported` is checked at this pace and sent only when it changed. */
  reportIntervalMs: number;
  /** Re-check of a running assembly while no update is in progress. */
  reconcileIntervalMs: number;
  /** Telemetry samples are taken at `telemetrySampleMs` and sent in one batch every `telemetryIntervalMs`. */
  telemetryIntervalMs: number;
  telemetrySampleMs: number;
  /** The inventory is collected again at this pace and sent when it changed (`inventoryFingerprint`). */
  inventoryIntervalMs: number;
  /** OS updates: how often the committed release's OS image is looked at, and the trial boot checked. */
  osTickMs: number;
}

export const DEFAULT_SETTINGS: AgentSettings = {
  reportIntervalMs: 10_000,
  reconcileIntervalMs: 30_000,
  telemetryIntervalMs: 60_000,
  telemetrySampleMs: 10_000,
  inventoryIntervalMs: 10 * 60_000,
  osTickMs: 3_000,
};

export type AgentDeps = Omit<UpdaterDeps, 'onChange' | 'onEvent' | 'controlPlaneConnected' | 'registryAccess' | 'settings' | 'locks'> & {
  /** Update locks on disk (`<state dir>/locks`); absent: components cannot defer updates. */
  lockStore?: LockStore;
  runtime: ContainerRuntime;
  clock: Clock;
  logger: Logger;
  collectInventory: () => Promise<Inventory>;
  sampleTelemetry: () => Promise<TelemetrySample>;
  /** Keeps every event on disk until the broker acknowledged it, and sends it (`EventOutbox`). */
  outbox: Pick<EventOutbox, 'push' | 'attach' | 'pump' | 'settled'>;
  /** The device's id, as the control plane knows it. */
  deviceId: string;
  /** OS A/B updates, on an OS built with its root slots (`OsUpdates.forRunningOs`). */
  os?: OsUpdates;
  /** Agent self-updates, when the agent runs under its launcher (`SelfUpdate.fromEnv`). */
  selfUpdate?: { update: SelfUpdate; restart(): void };
  /** Status for apps on the board (`LocalStatusFile`); written at every report tick. */
  localStatus?: { write(status: LocalStatus): Promise<void> };
  /** Judges every `desired` message from the network (`receive`); without it the agent takes none. */
  gate?: Pick<DesiredGate, 'admit'>;
  /** Judges every `cmd` message from the network (`receiveCommand`); without it the agent runs none. */
  commandGate?: Pick<CommandGate, 'admit'>;
  settings?: Partial<AgentSettings & UpdaterSettings>;
};
