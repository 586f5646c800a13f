import { Inject, Injectable } from '@nestjs/common';
import { encodePayload, isValidDeviceId, type RecordedEvent, type Inventory, type Reported, type Telemetry } from '@flotilla/shared';
import { REPLICA_ALIVE_S } from '../database/replica-heartbeats';
import { REPLICA_ID } from '../database/replica-id';
import { retryTransient } from '../database/write-alone';
import { RegistriesService } from '../registries/registries.service';
import { ReleasesService } from '../releases/releases.service';
import { SigningService } from '../signing/signing.service';
import { TelemetryIngest } from '../telemetry/telemetry-ingest';
import { upgradedHash, verifyPassword } from './credentials';
import { DeviceActivityRepository } from './device-activity.repository';
import { DeviceDirectory } from './device-directory';
import { DeviceEventRetention } from './device-event-retention';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { effectiveConfig } from './device-config';
import { desiredContent, type DesiredContent } from './device.mapper';
import { DevicePresenceRepository } from './device-presence.repository';
import { DeviceRecordRepository } from './device-record.repository';
import { DeviceReportRepository } from './device-report.repository';

/**
 * How long a broker's connection list may lag a connect or a disconnect: RabbitMQ's management
 * API lists what the nodes' statistics told it (every 5 s by default), with a wide margin.
 */
const CONNECTION_LIST_LAG_S = 30;

export type DesiredGetOutcome = 'sent' | 'up-to-date' | 'unknown-device';

/** `unknown-device` covers decommissioned devices too; the broker may remember it briefly, never a bad password. */
export type CredentialCheck = 'accepted' | 'unknown-device' | 'bad-password';

/**
 * The rules for what devices say over their link (MQTT today): who they are, whether they
 * are connected, and what they report. Input arrives already validated against the protocol.
 * A transient database error (a pool timeout in a connect storm, a deadlock) is retried, in
 * the batch writers and around the single statements here, so it never costs a message.
 */
@Injectable()
export class DeviceLinkService {
  /** Devices connected here (embedded broker) whose first report since has not arrived yet. */
  private readonly newConnections = new Set<string>();

  constructor(
    private readonly records: DeviceRecordRepository,
    private readonly presence: DevicePresenceRepository,
    private readonly reports: DeviceReportRepository,
    private readonly activity: DeviceActivityRepository,
    private readonly releases: ReleasesService,
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
    private readonly telemetryIngest: TelemetryIngest,
    private readonly registries: RegistriesService,
    private readonly signing: SigningService,
    private readonly eventRetention: DeviceEventRetention,
    private readonly directory: DeviceDirectory,
    @Inject(REPLICA_ID) private readonly replica: string,
  ) {}

  /**
   * From memory (DeviceDirectory): no database round trip for a known device. The device is
   * answered `bad username or password` alike for each refusal; the outcome only tells the
   * broker's limits apart. A database error (only possible for a device not in memory) is thrown:
   * the broker answers "server unavailable" and the device comes back later.
   */
  async checkCredentials(deviceId: string, password: string): Promise<CredentialCheck> {
    if (!isValidDeviceId(deviceId)) return 'unknown-device';
    const hash = await this.directory.passwordHash(deviceId);
    if (hash === undefined) return 'unknown-device';
    if (!(await verifyPassword(password, hash))) return 'bad-password';
    // A hash stored by an earlier version (scrypt): the password's digest from now on.
    const upgraded = upgradedHash(password, hash);
    if (upgraded) this.directory.replaceHash(deviceId, hash, upgraded);
    return 'accepted';
  }

  /**
   * A login with a client certificate an external broker has verified (RabbitMQ's `ssl_cert_login`:
   * chained to the device CA, within its validity, subject = `deviceId`): accepted while the device
   * is registered and not decommissioned, which is what revokes its certificates. From memory, as
   * `checkCredentials`.
   */
  async checkCertificateHolder(deviceId: string): Promise<Exclude<CredentialCheck, 'bad-password'>> {
    if (!isValidDeviceId(deviceId)) return 'unknown-device';
    return (await this.directory.passwordHash(deviceId)) === undefined ? 'unknown-device' : 'accepted';
  }

  /** `listener` hears each device decommissioned or deleted elsewhere, whose session here must end (DeviceDirectory.onRevoked). */
  onRevoked(listener: (deviceId: string) => void): void {
    this.directory.onRevoked(listener);
  }

  /** Reads for devices not in memory that connects are waiting on (part of the broker's load). */
  get credentialLookupsInFlight(): number {
    return this.directory.lookupsInFlight;
  }

  /** Device writes queued behind the database (part of the broker's load). */
  get queuedWrites(): number {
    return this.presence.queuedWrites + this.reports.queuedWrites;
  }

  /** How long the oldest of those writes has waited (ms): how far the database is behind. */
  get writeLagMs(): number {
    return Math.max(this.presence.writeLagMs, this.reports.writeLagMs);
  }

  /**
   * `revoked` when the device was decommissioned (its connection must end); it is not marked
   * online then. Coalesced with every other connect of the burst (DevicePresenceRepository.setOnline).
   */
  async connected(deviceId: string): Promise<'online' | 'revoked'> {
    return (await this.presence.setOnline(deviceId, true, this.presenceOwner)) ? 'online' : 'revoked';
  }

  /**
   * The broker opened a connection of the device here (embedded broker, in order with its
   * messages): its next report is the first of that connection, taken whatever the device's clock
   * says (DeviceReportRepository.storeReportedMany), and compared in the database, not in memory.
   */
  connectionOpened(deviceId: string): void {
    this.reports.forgetReported(deviceId);
    this.newConnections.add(deviceId);
  }

  /** Leaves alone a device that meanwhile came online through another replica. */
  async disconnected(deviceId: string): Promise<void> {
    this.newConnections.delete(deviceId);
    this.reports.forgetReported(deviceId);
    await this.presence.setOnline(deviceId, false, this.presenceOwner);
  }

  /**
   * An embedded broker starting holds no connection yet; those a previous run of this process (or
   * any dead replica) held are gone, while devices connected through live replicas stay online.
   */
  async brokerStarted(): Promise<void> {
    await this.sweepPresence();
  }

  /** Marks offline the devices held by replicas that are dead or stopped; how many. */
  sweepPresence(): Promise<number> {
    return this.presence.markOfflineHeldByDead(REPLICA_ALIVE_S, this.broker.reportsPresence);
  }

  /**
   * External broker: presence set to the broker's own list of connections, for devices quiet
   * for longer than the list may lag; undefined when the broker cannot list them.
   */
  async reconcilePresence(): Promise<{ offline: number; online: number } | undefined> {
    const started = performance.now();
    const connected = await this.broker.connectedDevices();
    if (!connected) return undefined;
    const quietS = CONNECTION_LIST_LAG_S + (performance.now() - started) / 1000;
    return this.presence.reconcilePresence([...connected], quietS);
  }

  /**
   * With an embedded broker this replica holds the connection; with an external one presence
   * comes from the devices' status messages and last wills, whichever replica reads them.
   */
  private get presenceOwner(): string | null {
    return this.broker.reportsPresence ? this.replica : null;
  }

  /**
   * A device holding an older rev gets the current desired state; one up to date gets no answer,
   * unless it asks for a `refresh` (its registry tokens expired): then it gets its current rev
   * again, with fresh tokens. A device ahead of the control plane's rev is never answered.
   */
  async desiredRequested(deviceId: string, heldRev: number, refresh = false): Promise<DesiredGetOutcome> {
    // The common case after a (re)connect, answered from memory: the device holds the current rev.
    const current = this.directory.desiredRev(deviceId);
    if (current !== undefined && heldRev >= current && !refresh) return 'up-to-date';
    // Reads only, so all of them are repeated together while the database fails transiently (a
    // pool timeout in a storm, a connection reset, a server restarting): a device that asked is
    // answered, however late, and never left without its desired state until its next connect.
    const answer = await retryTransient(() => this.readDesired(deviceId, heldRev, refresh));
    if (answer === 'unknown-device') return answer;
    await this.presence.touch(deviceId);
    if (answer === 'up-to-date') return answer;
    await this.broker.publishToDevice(deviceId, 'desired', encodePayload('desired', this.signing.sealDesired(answer)));
    return 'sent';
  }

  /** What a `desired/get` is answered with, read from the database: the pointer, the release, the registry access. */
  private async readDesired(
    deviceId: string,
    heldRev: number,
    refresh: boolean,
  ): Promise<DesiredContent | 'up-to-date' | 'unknown-device'> {
    const pointer = await this.records.findDesiredPointer(deviceId);
    if (!pointer) return 'unknown-device';
    if (heldRev > pointer.desiredRev || (heldRev === pointer.desiredRev && !refresh)) return 'up-to-date';
    const release = pointer.desiredReleaseId ? await this.releases.getForDelivery(pointer.desiredReleaseId) : null;
    // A lookup of its own per attempt: it remembers what it read, failures included.
    const registryAuth = await this.registries.lookup()(release, { deviceId, ...pointer });
    return desiredContent(deviceId, pointer, release, effectiveConfig(pointer.fleetConfig, pointer.deviceConfig), registryAuth);
  }

  async reported(deviceId: string, reported: Reported): Promise<void> {
    const at = performance.now();
    // The row's write set its last-seen too: the device's touches within the resolution write nothing.
    const first = this.newConnections.delete(deviceId);
    if (await this.reports.storeReported(deviceId, reported, first)) this.presence.lastSeenWritten(deviceId, at);
  }

  async inventory(deviceId: string, inventory: Inventory): Promise<void> {
    await this.reports.storeInventory(deviceId, inventory);
  }

  async event(deviceId: string, event: RecordedEvent): Promise<void> {
    await this.activity.appendEvent(deviceId, event);
    this.eventRetention.wrote(deviceId);
    await this.presence.touch(deviceId);
  }

  /**
   * A sample sent again (a device's QoS 1 resend, a broker's redelivery to another replica) is
   * skipped when it is written: a device's (device, at) is one sample (TelemetryRepository.copyBatch).
   */
  async telemetry(deviceId: string, telemetry: Telemetry): Promise<void> {
    this.telemetryIngest.add(deviceId, telemetry);
    await this.presence.touch(deviceId);
  }

  /** Settles once the telemetry taken so far is written (TelemetryIngest.stored). */
  telemetryStored(): Promise<void> {
    return this.telemetryIngest.stored();
  }
}
