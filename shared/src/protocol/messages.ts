import { z } from 'zod';
import { AssemblySpec } from '../assembly/spec';
import { EndorsedReleaseKey } from '../api/signing-keys';
import { ReleaseSignature } from '../releases/signing';
import { RegistryAuth } from '../registries/registry-auth';
import { PROOF_STEP } from './desired-batch';
import type { Channel } from './topics';
import { TEXT_LIMITS, byteCount, celsius, count, gigahertz, percent, revision, storableString, storableTimestamp } from './storable';
import { UpdateDeferral, UpdateLockStatus, UpdatePolicy } from './update-policy';

/**
 * Payloads of protocol v1. Every message carries `schema: 1` so a device and a control
 * plane of different ages can tell what they are reading. Unknown extra keys are
 * stripped, not refused, so a newer peer can add fields without breaking an older one.
 */
export const PROTOCOL_SCHEMA = 1;
const schema = z.literal(PROTOCOL_SCHEMA);
const timestamp = storableTimestamp();
// Uplink strings, by what they hold (storable.ts): every one bounded and storable in PostgreSQL.
const name = storableString(TEXT_LIMITS.name);
const ref = storableString(TEXT_LIMITS.ref);
const text = storableString(TEXT_LIMITS.message);

/** Largest MQTT payload either side accepts, in bytes; the broker refuses bigger ones. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export const Release = z.object({
  id: z.string().uuid(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  assembly: AssemblySpec,
  signature: ReleaseSignature,
});
export type Release = z.infer<typeof Release>;

export const Desired = z.object({
  schema,
  /** Grows by one at every change of what the device should run; never reused. */
  rev: z.number().int().nonnegative(),
  release: Release.nullable(),
  config: z.record(z.string(), z.string()),
  /**
   * Access to the private registries the release pulls from, and no others: logins granted to
   * the device's fleet, or short-lived pull tokens. Outside the signed release on purpose: they
   * rotate without a new release. Absent when none are needed.
   */
  registryAuth: z.array(RegistryAuth).max(64).optional(),
  /**
   * The release-signing key rotation chain, oldest first: each key endorsed by the key before
   * it. A device adds a key only when the endorsement verifies with a key it already trusts
   * (`verifyKeyEndorsement`), so a rotated key reaches devices without re-provisioning. Absent
   * until the first rotation.
   */
  keyEndorsements: z.array(EndorsedReleaseKey).max(256).optional(),
  /** Update locks: the operator's `force` and the fleet's longest deferral (update-policy.ts). Absent: no override, no limit. */
  updatePolicy: UpdatePolicy.optional(),
});
export type Desired = z.infer<typeof Desired>;

/**
 * What the control plane signs (`sealDesired`, `desired-signing.ts`): the desired state plus
 * whom it is for and how long it holds, so that a signed statement cannot be replayed to
 * another device, later, or in place of a newer one.
 */
export const DesiredStatement = Desired.extend({
  /** The device this statement is for; any other device refuses it. */
  deviceId: z.string().min(1).max(64),
  /** When the control plane signed it; never goes backwards for one device. */
  issuedAt: timestamp,
  /** After this the statement is stale and refused; a device gets a fresh one with `desired/get`. */
  expiresAt: timestamp,
  /** When `release` was created; a device takes an older release than it ever ran only with `rollback`. */
  releaseCreatedAt: timestamp.nullable(),
  /** The control plane means to go back to an older release (a rollout's rollback, a pin). */
  rollback: z.boolean(),
  /** Signing keys the control plane revoked: a device stops trusting them for good. */
  revokedKeys: z.array(z.string().min(1).max(128)).max(256).optional(),
});
export type DesiredStatement = z.infer<typeof DesiredStatement>;

/** The parts of a statement shared by every device of a fan-out: they travel as the `body`. */
export const DESIRED_BODY_KEYS = ['release', 'keyEndorsements', 'revokedKeys'] as const;

/**
 * The `desired` message on the wire (`desired-signing.ts`, `desired-batch.ts`). `statement` is the
 * JSON text of the device's own part of a `DesiredStatement` (whom, which rev, until when, its
 * config), `body` the JSON text of the parts a fan-out shares (`DESIRED_BODY_KEYS`: the release,
 * the key chain, the revocations), the same bytes for every device. One signature covers a batch
 * of statements through a hash tree; `proof` leads from this statement and body to its signed root.
 */
export const SignedDesired = z.object({
  schema,
  statement: z.string().max(MAX_PAYLOAD_BYTES),
  body: z.string().max(MAX_PAYLOAD_BYTES),
  proof: z.array(z.string().regex(PROOF_STEP, 'a proof step is L or R and a base64 SHA-256')).max(32),
  signature: ReleaseSignature,
});
export type SignedDesired = z.infer<typeof SignedDesired>;

export const DesiredGet = z.object({
  schema,
  rev: revision(),
  /**
   * Answer even when `rev` is current: the registry tokens of the held desired state have
   * expired (or will before a pull ends). The answer carries the same rev with fresh tokens,
   * which the agent takes for that rev's registry access only.
   */
  refresh: z.literal(true).optional(),
});
export type DesiredGet = z.infer<typeof DesiredGet>;

export const COMPONENT_STATES = ['missing', 'created', 'running', 'restarting', 'exited', 'dead', 'paused'] as const;
export const HEALTH_STATES = ['none', 'starting', 'healthy', 'unhealthy'] as const;

export const ComponentStatus = z.object({
  name,
  image: ref,
  state: z.enum(COMPONENT_STATES),
  health: z.enum(HEALTH_STATES),
  containerId: name.optional(),
  restartCount: count().optional(),
});
export type ComponentStatus = z.infer<typeof ComponentStatus>;

/** The assembly A/B update's phases (docs/architecture.md, "The assembly A/B machine"). */
export const UPDATE_PHASES = ['idle', 'verify', 'fetch', 'switch', 'probation', 'commit', 'rollback'] as const;
export type UpdatePhase = (typeof UPDATE_PHASES)[number];

/** One A/B slot as reported: which desired rev and release it holds. */
export const SlotRef = z.object({
  rev: revision(),
  releaseId: name.nullable(),
  version: name.nullable(),
});
export type SlotRef = z.infer<typeof SlotRef>;

export const UpdateProgress = z.object({
  imagesDone: count(),
  imagesTotal: count(),
  bytesDone: byteCount(),
  /** 0 while the registry has not told the sizes yet. */
  bytesTotal: byteCount(),
  percent: percent(),
});
export type UpdateProgress = z.infer<typeof UpdateProgress>;

export const UpdateStatus = z.object({
  phase: z.enum(UPDATE_PHASES),
  /** The last committed assembly; what the device falls back to. */
  active: SlotRef.nullable(),
  /** The assembly on trial, from verify until commit or rollback. */
  candidate: SlotRef.nullable(),
  /** Highest rev that was refused or rolled back; not tried again until a newer rev. */
  failedRev: revision().nullable(),
  lastFailure: text.nullable(),
  progress: UpdateProgress.optional(),
  /** Downloaded, but waiting for components' update locks to be released before the switch. */
  deferred: UpdateDeferral.optional(),
});
export type UpdateStatus = z.infer<typeof UpdateStatus>;

/** The OS A/B update's phases (agent/src/os-update/os-update-plan.ts). */
export const OS_UPDATE_PHASES = ['idle', 'write', 'arm', 'reboot', 'trial', 'fall-back', 'commit'] as const;

export const OsStatus = z.object({
  /** FLOTILLA_OS_VERSION of the running root; null on an OS not built by `flotilla image build`. */
  version: name.nullable(),
  /** The root slot running now, and whether this boot is an uncommitted trial of it. */
  slot: z.enum(['A', 'B']).nullable(),
  inTrial: z.boolean(),
  phase: z.enum(OS_UPDATE_PHASES),
  /** The OS version being written or tried. */
  target: name.nullable(),
  lastFailure: text.nullable(),
  progress: z.object({ bytesDone: byteCount(), bytesTotal: byteCount(), percent: percent() }).optional(),
});
export type OsStatus = z.infer<typeof OsStatus>;

export const Reported = z.object({
  schema,
  at: timestamp,
  agentVersion: name,
  /** The highest desired `rev` the agent holds (active, on trial, queued or refused). */
  rev: revision(),
  update: UpdateStatus,
  components: z.array(ComponentStatus).max(256),
  /** Absent on a device whose OS cannot be updated by Flotilla (no A/B root slots). */
  os: OsStatus.optional(),
  /** Update locks held now, by which component, since when. Absent when none. */
  locks: z.array(UpdateLockStatus).max(64).optional(),
});
export type Reported = z.infer<typeof Reported>;

export const TelemetrySample = z.object({
  at: timestamp,
  cpuPercent: percent(),
  memUsedBytes: byteCount(),
  memTotalBytes: byteCount(),
  temperatureC: celsius().optional(),
});
export const Telemetry = z.object({ schema, samples: z.array(TelemetrySample).min(1).max(1000) });
export type Telemetry = z.infer<typeof Telemetry>;

export const Inventory = z.object({
  schema,
  at: timestamp,
  hostname: name,
  arch: name,
  /** The device's IANA time zone (e.g. "Europe/Berlin"): its maintenance windows are in it. Absent from older agents. */
  timeZone: name.optional(),
  board: z.object({ model: name, serial: name.optional(), revision: name.optional() }),
  cpu: z.object({ manufacturer: name, brand: name, cores: count(), speedGHz: gigahertz().optional() }),
  memory: z.object({ totalBytes: byteCount() }),
  os: z.object({ distro: name, release: name, kernel: ref }),
  disks: z.array(z.object({ mount: ref, fs: name, sizeBytes: byteCount(), usedBytes: byteCount() })).max(256),
  network: z.array(z.object({ iface: name, mac: name, ip4: name.optional(), ip6: name.optional() })).max(256),
  temperatures: z.array(z.object({ zone: name, celsius: celsius() })).max(256),
  throttled: z.object({ raw: name, underVoltage: z.boolean(), throttled: z.boolean() }).optional(),
});
export type Inventory = z.infer<typeof Inventory>;

export const EVENT_KINDS = [
  'apply-started',
  'apply-succeeded',
  'apply-failed',
  'component-started',
  'component-stopped',
  'invalid-desired',
  'desired-refused',
  'update-phase',
  'update-committed',
  'update-refused',
  'update-rolled-back',
  /** An expired or stale update lock was removed (update-locks, issue 18). */
  'update-lock-released',
  /** Switched while a lock was held: forced by an operator, or the fleet's longest deferral ran out. */
  'update-lock-overridden',
  /** An image was rebuilt from binary layer deltas (agent/src/delta), with the bytes it took. */
  'update-delta-applied',
  /** A delta was missing, failed or did not rebuild the release's exact layer: a full pull follows. */
  'update-delta-fallback',
  'component-restarted',
  'command',
  'outbox-overflow',
  'release-key-added',
  'release-key-refused',
  'os-update-started',
  'os-update-committed',
  'os-update-failed',
  'agent-update-started',
  'agent-update-committed',
  'agent-update-failed',
  /** Recorded by the control plane: messages of the device dropped over its quota (control-plane README, "Limits"). */
  'quota-exceeded',
] as const;
export const DeviceEvent = z.object({
  schema,
  /**
   * Chosen by the device when the event happens (a random UUID) and kept through its outbox, so a
   * copy sent again (a QoS 1 resend, a broker redelivery to another replica, a retried batch) is
   * stored once: the control plane keeps one row per device and id. Optional: agents older than
   * it send none, and their events are stored as before.
   */
  id: z.string().uuid().optional(),
  at: timestamp,
  kind: z.enum(EVENT_KINDS),
  rev: revision().optional(),
  releaseId: name.optional(),
  phase: z.enum(UPDATE_PHASES).optional(),
  message: text,
});
export type DeviceEvent = z.infer<typeof DeviceEvent>;

export const COMMANDS = ['reboot', 'restart-component', 'logs', 'rollback', 'identify'] as const;
export const Command = z.object({
  schema,
  id: z.string().min(1).max(64),
  name: z.enum(COMMANDS),
  args: z.record(z.string(), z.string()).default({}),
});
export type Command = z.infer<typeof Command>;

export const CommandResult = z.object({
  schema,
  id: storableString(64).min(1),
  ok: z.boolean(),
  output: storableString(TEXT_LIMITS.output).optional(),
  error: text.optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;

export const DeviceStatus = z.object({ schema, status: z.enum(['online', 'offline']) });
export type DeviceStatus = z.infer<typeof DeviceStatus>;

/** The schema of each channel's payload, so a broker hook or a handler can validate by topic. */
export const CHANNEL_SCHEMAS = {
  desired: SignedDesired,
  'desired/get': DesiredGet,
  reported: Reported,
  telemetry: Telemetry,
  inventory: Inventory,
  events: DeviceEvent,
  cmd: Command,
  'cmd/res': CommandResult,
  status: DeviceStatus,
} satisfies Record<Channel, z.ZodType>;

export type ChannelPayload<C extends Channel> = z.infer<(typeof CHANNEL_SCHEMAS)[C]>;

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parse and validate one MQTT payload of `channel`; never throws. */
export function decodePayload<C extends Channel>(channel: C, payload: Uint8Array | string): DecodeResult<ChannelPayload<C>> {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload).length : payload.byteLength;
  if (bytes > MAX_PAYLOAD_BYTES) return { ok: false, reason: `payload of ${bytes} bytes exceeds ${MAX_PAYLOAD_BYTES}` };
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const parsed = CHANNEL_SCHEMAS[channel].safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, value: parsed.data as ChannelPayload<C> };
}

export function encodePayload<C extends Channel>(channel: C, value: ChannelPayload<C>): string {
  return JSON.stringify(CHANNEL_SCHEMAS[channel].parse(value));
}

/**
 * `/run/flotilla/status.json` on the device: the reported state plus who and what the device
 * is, for apps on the board (origin's device-status page) that must work without the cloud.
 */
export const LocalStatus = Reported.extend({
  deviceId: z.string(),
  board: z.string().nullable(),
  /** Whether the agent reaches the control plane right now. */
  connected: z.boolean(),
  /** The assembly the active slot runs; null before the first release. */
  assembly: z.object({ name: z.string(), version: z.string(), releaseId: z.string() }).nullable(),
});
export type LocalStatus = z.infer<typeof LocalStatus>;
