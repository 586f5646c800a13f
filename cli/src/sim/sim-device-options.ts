import type { Command, CommandResult, Desired, OsStatus, ReconnectPolicy, ReleaseKey, VerifiedSignatures } from '@flotilla/shared';
import type { SimDevice } from './sim-device';

export interface SimTls {
  ca: string[];
  cert?: string;
  key?: string;
}

/**
 * What a simulated device does with a new desired release. `lock`: a component holds an update
 * lock, so after the download the device waits (`reported.update.deferred`) until `releaseLock()`
 * or a desired state with `updatePolicy.force`, then commits, as the agent does.
 */
export type UpdateBehavior = 'commit' | 'rollback' | 'hang' | 'lock';

export interface SimDeviceOptions {
  mqttUrl: string;
  deviceId: string;
  /** MQTT password; a device with a client certificate (`tls.cert`) needs none. */
  password?: string;
  /** For mqtts:// and wss://: the CAs to verify the broker with, and the device's own certificate and key. */
  tls?: SimTls;
  /** A persistent MQTT session (clean = false), as the agent keeps; default a clean session. */
  persistentSession?: boolean;
  /** Decides per release; default: commit everything. */
  behavior?: (desired: Desired) => UpdateBehavior;
  /** Time from receiving a desired state to its commit or rollback. */
  updateMs?: number;
  /** Answer to a command; undefined means no answer at all (to test timeouts). Default: ok. */
  onCommand?: (command: Command) => Omit<CommandResult, 'schema' | 'id'> | undefined;
  /**
   * Reconnect after the broker went away as the agent does: the shared schedule
   * (shared/src/protocol/reconnect.ts), busy signals honoured. Absent: no reconnect.
   */
  reconnect?: ReconnectPolicy;
  /** Reconnect at a fixed period instead, as devices did before the schedule (benchmarks compare the two). */
  reconnectPeriodMs?: number;
  /** One telemetry sample every this many ms (first one at a random offset); 0 or absent: none. */
  telemetryEveryMs?: number;
  /** Publish an inventory after the first connect. */
  inventory?: boolean;
  /** Publish update events (update-phase, update-committed, update-rolled-back) as an agent does. */
  events?: boolean;
  /** Called after a device has committed or rolled back a rev (for the simulator's statistics). */
  onSettled?: (device: SimDevice, outcome: 'commit' | 'rollback', rev: number) => void;
  /** Called when a new desired rev arrives, with the `desired` message as it arrived. */
  onDesired?: (device: SimDevice, desired: Desired, payload: Buffer) => void;
  /** Called on every connect (first and after each reconnect). */
  onConnect?: (device: SimDevice) => void;
  /**
   * The control plane's release keys from the registration answer: given, the device checks the
   * signature of every desired state as an agent does (following the key chain it carries);
   * absent, it still refuses one for another device, stale, or not newer.
   */
  releaseKeys?: readonly ReleaseKey[];
  /** Signatures verified by the simulation's other devices (a batch shares one): checked once. */
  verifiedSignatures?: VerifiedSignatures;
  /** Called for each desired message refused, with the reason. */
  onRefused?: (device: SimDevice, reason: string) => void;
  /** The time zone its inventory reports (maintenance windows are in it). Default UTC. */
  timeZone?: string;
  /** Its clock, for maintenance windows (a test may simulate it). Default: real time. */
  now?: () => number;
  /** Board model reported in the inventory. */
  board?: string;
  /** The OS status to report (`reported.os`), as an agent on an A/B OS does; absent: none. */
  os?: OsStatus;
  /**
   * Connect attempts before start() gives up; a refused or timed-out connect (e.g. "server
   * unavailable" during a connect storm) is retried after 1-3 s, as an agent does. Default 1.
   */
  connectAttempts?: number;
  /** Source of randomness for telemetry values and offsets; default Math.random. */
  random?: () => number;
}
