import type { Platform, RegistryAuth, ReleaseKey } from '@flotilla/shared/device';
import type { ReleaseKeySource } from '../provisioning/trusted-key-store';
import type { ContainerRuntime } from '../runtime/container-runtime';
import type { Clock } from '../support/clock';
import type { Logger } from '../support/logger';
import type { ImageLedger } from './image-ledger';
import type { DeltaFetcher } from '../delta/delta-fetcher';
import type { UpdateLocks } from './locks/update-locks';
import type { Phase, Slot, UpdateState } from './machine';
import type { UpdateEventKind } from './phase-events';
import type { ImageFacts } from './preflight';
import type { RegistryAccess } from './registry-access';
import type { StepHooks } from './step-hooks';

/** What the updater (`updater.ts`) is built from: the device's edges, its callbacks and its timings. */
export interface UpdaterSettings {
  /** How long a `service_healthy` dependency (or a hand-over) may take during SWITCH. */
  healthTimeoutMs: number;
  healthPollMs: number;
  /** How often the probation gate looks at the engine. */
  gatePollMs: number;
  /** Free disk that must remain after the pulls. */
  diskReserveBytes: number;
  /** Assumed size of an image whose registry did not tell. */
  unknownImageBytes: number;
}

export const DEFAULT_UPDATER_SETTINGS: UpdaterSettings = {
  healthTimeoutMs: 120_000,
  healthPollMs: 500,
  gatePollMs: 250,
  diskReserveBytes: 256 * 1024 * 1024,
  unknownImageBytes: 512 * 1024 * 1024,
};

export interface UpdaterDeps {
  journal: { read(): Promise<UpdateState>; write(state: UpdateState): Promise<void> };
  ledger: Pick<ImageLedger, 'read' | 'add' | 'write'>;
  runtime: ContainerRuntime;
  clock: Clock;
  logger: Logger;
  /** The pinned keys, or a source that grows them with the endorsements a candidate carries (`TrustedKeyStore`). */
  releaseKeys: readonly ReleaseKey[] | ReleaseKeySource;
  /** The board spec name the device is, when known. */
  board: string | undefined;
  freeDiskBytes: (path: string) => Promise<number>;
  /** `auth`: the login for the image's registry, when the desired envelope carried one. */
  imageFacts: (ref: string, platform: Platform, auth?: RegistryAuth) => Promise<Pick<ImageFacts, 'platforms' | 'sizeBytes'>>;
  controlPlaneConnected: () => boolean;
  /** Which login or token each pull and manifest read uses, refreshed as tokens expire. */
  registryAccess: RegistryAccess;
  /** The update status changed: the agent reports. */
  onChange: () => void;
  onEvent: (kind: UpdateEventKind, message: string, slot: Slot | null, phase: Phase) => void;
  /** Binary layer deltas against the images the device holds; absent: images are always pulled whole. */
  deltas?: Pick<DeltaFetcher, 'prepare'>;
  /** Update locks of the running components: the switch waits while one is held. Absent: never waits. */
  locks?: UpdateLocks;
  /** The device's time zone, for maintenance windows; default: the system's. */
  timeZone?: string;
  /** Test seam around every step (crash tests); production passes none. */
  stepHooks?: StepHooks;
  settings?: Partial<UpdaterSettings>;
}
