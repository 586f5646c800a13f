import type { SignedDesired } from '@flotilla/shared';
import { desiredPointer, inMemorySigning, openDesired, testRelease } from '../testing/desired';
import type { RegistriesService } from '../registries/registries.service';
import type { ReleasesService } from '../releases/releases.service';
import { desiredRecorder } from '../testing/device-broker';
import { strictFake } from '../testing/strict-fake';
import type { TelemetryIngest } from '../telemetry/telemetry-ingest';
import { DeviceLinkService } from './device-link.service';
import type { DevicePresenceRepository } from './device-presence.repository';
import type { DesiredPointer, DeviceRecordRepository } from './device-record.repository';
import type { DeviceReportRepository } from './device-report.repository';
import type { DeviceActivityRepository } from './device-activity.repository';
import type { DeviceEventRetention } from './device-event-retention';
import type { DeviceDirectory } from './device-directory';

const release = testRelease;

const signing = inMemorySigning();

type DesiredRead = 'pointer' | 'release' | 'registry';

/** Fails the first call of `read` as PostgreSQL does when its connection is terminated (a transient error). */
function transientOnce<A extends unknown[], R>(failing: boolean, read: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let failed = !failing;
  return async (...args) => {
    if (failed) return read(...args);
    failed = true;
    throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  };
}

/**
 * `memoryRev`: the rev DeviceDirectory holds for every device (undefined: not in memory, ask the
 * database); `failOnce`: the read of the desired/get path whose first attempt fails transiently.
 */
function setup(pointer: DesiredPointer | undefined, memoryRev?: number, failOnce?: DesiredRead) {
  const sent: [string, SignedDesired][] = [];
  const touched: string[] = [];
  const records = strictFake<DeviceRecordRepository>('DeviceRecordRepository', {
    findDesiredPointer: transientOnce(failOnce === 'pointer', async () => pointer),
  });
  const presence = strictFake<DevicePresenceRepository>('DevicePresenceRepository', { touch: async (id) => void touched.push(id) });
  const releases = strictFake<ReleasesService>('ReleasesService', {
    getForDelivery: transientOnce(failOnce === 'release', async (id: string) => {
      if (id !== release.id) throw new Error(`unexpected release ${id}`);
      return release;
    }),
  });
  const registryLookup = transientOnce(failOnce === 'registry', async () => []);
  const publisher = desiredRecorder(async (deviceId, desired) => void sent.push([deviceId, desired]));
  const service = new DeviceLinkService(
    records,
    presence,
    strictFake<DeviceReportRepository>('DeviceReportRepository', {}),
    strictFake<DeviceActivityRepository>('DeviceActivityRepository', {}),
    releases,
    publisher,
    strictFake<TelemetryIngest>('TelemetryIngest', {}),
    strictFake<RegistriesService>('RegistriesService', { lookup: () => registryLookup }),
    signing,
    strictFake<DeviceEventRetention>('DeviceEventRetention', {}),
    strictFake<DeviceDirectory>('DeviceDirectory', { desiredRev: () => memoryRev }),
    'test-replica',
  );
  return { service, sent, touched };
}

describe('DeviceLinkService.desiredRequested', () => {
  it('sends the current desired state (fleet config with device overrides) to a device holding an older rev', async () => {
    const { service, sent, touched } = setup(desiredPointer({ fleetConfig: { A: 'fleet', B: 'fleet' }, deviceConfig: { B: 'device' } }));
    await expect(service.desiredRequested('dev_a', 2)).resolves.toBe('sent');
    expect(sent.map(([id]) => id)).toEqual(['dev_a']);
    expect(openDesired(sent[0]![1], signing.releaseKeys())).toMatchObject({
      deviceId: 'dev_a',
      rev: 3,
      release,
      releaseCreatedAt: '2026-11-27T10:00:00.000Z',
      rollback: false,
      config: { A: 'fleet', B: 'device' },
    });
    expect(touched).toEqual(['dev_a']);
  });

  it("carries the operator's lock override and the fleet's longest lock deferral as desired.updatePolicy", async () => {
    const { service, sent } = setup(desiredPointer({ desiredRev: 4, force: true, lockMaxDeferSeconds: 3600 }));
    await expect(service.desiredRequested('dev_a', 3)).resolves.toBe('sent');
    // Inside the signed statement: a relay cannot add or strip an override.
    expect(openDesired(sent[0]![1], signing.releaseKeys())).toMatchObject({
      rev: 4,
      updatePolicy: { force: true, lockMaxDeferSeconds: 3600 },
    });
  });

  it('stays silent for a device at the current rev, or ahead of it', async () => {
    const { service, sent } = setup(desiredPointer({ fleetConfig: { A: 'fleet', B: 'fleet' }, deviceConfig: { B: 'device' } }));
    await expect(service.desiredRequested('dev_a', 3)).resolves.toBe('up-to-date');
    await expect(service.desiredRequested('dev_a', 7)).resolves.toBe('up-to-date');
    await expect(service.desiredRequested('dev_a', 7, true)).resolves.toBe('up-to-date');
    expect(sent).toEqual([]);
  });

  it('sends the current rev again to a device at it that asks for a refresh (its registry tokens expired)', async () => {
    const { service, sent } = setup(desiredPointer());
    await expect(service.desiredRequested('dev_a', 3, true)).resolves.toBe('sent');
    expect(sent.map(([id]) => id)).toEqual(['dev_a']);
    expect(openDesired(sent[0]![1], signing.releaseKeys())).toMatchObject({ deviceId: 'dev_a', rev: 3, release, config: {} });
  });

  it('stays silent for a device that was never assigned anything', async () => {
    const { service, sent } = setup(desiredPointer({ desiredRev: 0, desiredReleaseId: null, releaseCreatedAt: null }));
    await expect(service.desiredRequested('dev_a', 0)).resolves.toBe('up-to-date');
    expect(sent).toEqual([]);
  });

  it.each<DesiredRead>(['pointer', 'release', 'registry'])(
    'answers a device whose %s read fails transiently the first time (retried, nothing lost)',
    async (failing) => {
      const pointer = desiredPointer();
      const { service, sent, touched } = setup(pointer, undefined, failing);
      await expect(service.desiredRequested('dev_a', 2)).resolves.toBe('sent');
      expect(openDesired(sent[0]![1], signing.releaseKeys())).toMatchObject({ deviceId: 'dev_a', rev: 3, release });
      expect(touched).toEqual(['dev_a']);
    },
  );

  it('ignores a device the database does not know', async () => {
    const { service, sent, touched } = setup(undefined);
    await expect(service.desiredRequested('dev_gone', 0)).resolves.toBe('unknown-device');
    expect(sent).toEqual([]);
    expect(touched).toEqual([]);
  });

  it('answers a device at the rev held in memory without the database, and asks the database otherwise', async () => {
    // A strict fake without findDesiredPointer would fail the first call if it reached the database.
    const memory = new DeviceLinkServiceProbe(5);
    await expect(memory.service.desiredRequested('dev_a', 5)).resolves.toBe('up-to-date');
    await expect(memory.service.desiredRequested('dev_a', 6)).resolves.toBe('up-to-date');
    await expect(memory.service.desiredRequested('dev_a', 4)).rejects.toThrow(/findDesiredPointer/);
    await expect(memory.service.desiredRequested('dev_a', 5, true)).rejects.toThrow(/findDesiredPointer/);
  });
});

/** A service whose repositories have no database methods at all: any round trip fails the test. */
class DeviceLinkServiceProbe {
  readonly service: DeviceLinkService;
  constructor(memoryRev: number) {
    this.service = new DeviceLinkService(
      strictFake<DeviceRecordRepository>('DeviceRecordRepository', {}),
      strictFake<DevicePresenceRepository>('DevicePresenceRepository', {}),
      strictFake<DeviceReportRepository>('DeviceReportRepository', {}),
      strictFake<DeviceActivityRepository>('DeviceActivityRepository', {}),
      strictFake<ReleasesService>('ReleasesService', {}),
      desiredRecorder(async () => undefined),
      strictFake<TelemetryIngest>('TelemetryIngest', {}),
      strictFake<RegistriesService>('RegistriesService', {}),
      signing,
      strictFake<DeviceEventRetention>('DeviceEventRetention', {}),
      strictFake<DeviceDirectory>('DeviceDirectory', { desiredRev: () => memoryRev }),
      'test-replica',
    );
  }
}
