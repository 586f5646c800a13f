import type { DeviceCertificateAuthority } from '../certificates/device-certificate-authority';
import type { HostPolicyService } from '../host-policy/host-policy.service';
import { Logger } from '@nestjs/common';
import type { SignedDesired } from '@flotilla/shared';
import type { UnitOfWork } from '../database/unit-of-work';
import { ReleaseNotFoundError } from '../releases/releases.errors';
import type { RegistriesService } from '../registries/registries.service';
import type { ReleasesService } from '../releases/releases.service';
import { desiredPointer, inMemorySigning, openDesired, testRelease } from '../testing/desired';
import { desiredRecorder } from '../testing/device-broker';
import { strictFake } from '../testing/strict-fake';
import { PUBLISH_IN_FLIGHT } from './desired-publisher';
import { DeviceEntity } from './device.entity';
import type { DeviceAssignmentRepository } from './device-assignment.repository';
import type { DesiredState, DeviceRecordRepository } from './device-record.repository';
import { DeviceNotFoundError } from './devices.errors';
import type { DeviceDirectory } from './device-directory';
import { FanoutActivity } from './fanout-activity';
import { DevicesService } from './devices.service';

const release = testRelease;

function row(desiredRev: number): DeviceEntity {
  return Object.assign(new DeviceEntity(), {
    id: 'dev_a',
    name: 'a',
    board: null,
    passwordHash: 'x',
    online: true,
    lastSeenAt: new Date('2026-11-27T12:00:00Z'),
    desiredRev,
    desiredReleaseId: release.id,
    reported: null,
    reportedAt: null,
    inventory: null,
    inventoryAt: null,
    createdAt: new Date('2026-11-27T11:00:00Z'),
    fleetId: null,
    tags: [],
    pinnedReleaseId: null,
    config: { LOG: 'debug' },
    decommissionedAt: null,
  });
}

const assignedInTx: [UnitOfWork, string[]][] = [];

const signing = inMemorySigning();

function desiredState(deviceId: string): DesiredState {
  return { deviceId, ...desiredPointer({ desiredRev: 5, fleetConfig: { LOG: 'info', SITE: 'n' }, deviceConfig: { LOG: 'debug' } }) };
}

function setup(publish: (deviceId: string, desired: SignedDesired) => Promise<void>) {
  const assignments = strictFake<DeviceAssignmentRepository>('DeviceAssignmentRepository', {
    assignRelease: async (_uow, id) => (id === 'dev_a' ? row(5) : undefined),
    assignReleaseToMany: async (tx, ids) => {
      assignedInTx.push([tx, [...ids]]);
      return new Map(ids.filter((id) => id === 'dev_a').map((id) => [id, desiredState(id)]));
    },
  });
  const records = strictFake<DeviceRecordRepository>('DeviceRecordRepository', {
    findDesiredStates: async (ids) => ids.map(desiredState),
    findRecord: async (id) => (id === 'dev_a' ? { device: row(5), fleetConfig: { LOG: 'info', SITE: 'n' }, lastEvent: null } : undefined),
  });
  const releases = strictFake<ReleasesService>('ReleasesService', {
    getForDelivery: async (id) => {
      if (id !== release.id) throw new ReleaseNotFoundError(id);
      return release;
    },
  });
  const registries = strictFake<RegistriesService>('RegistriesService', { lookup: () => async () => [] });
  // The release of these tests uses no host power, which the policy allows everywhere.
  const hostPolicy = strictFake<HostPolicyService>('HostPolicyService', {
    bindToDevices: async (_ids, _assembly, write) => write({} as UnitOfWork),
  });
  const certificates = strictFake<DeviceCertificateAuthority>('DeviceCertificateAuthority', {});
  return new DevicesService(
    records,
    assignments,
    releases,
    desiredRecorder(publish),
    registries,
    signing,
    hostPolicy,
    certificates,
    strictFake<DeviceDirectory>('DeviceDirectory', {}),
    new FanoutActivity(),
  );
}

describe('DevicesService.assignRelease', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('publishes the new rev to the device and returns its view', async () => {
    const sent: [string, SignedDesired][] = [];
    const service = setup(async (id, desired) => void sent.push([id, desired]));
    const view = await service.assignRelease('dev_a', release.id);
    expect(view.desired).toEqual({ rev: 5, releaseId: release.id });
    expect(view.lastSeenAt).toBe('2026-11-27T12:00:00.000Z');
    expect(view.effectiveConfig).toEqual({ LOG: 'debug', SITE: 'n' });
    expect(sent.map(([id]) => id)).toEqual(['dev_a']);
    expect(openDesired(sent[0]![1], signing.releaseKeys())).toMatchObject({
      deviceId: 'dev_a',
      rev: 5,
      release,
      config: { LOG: 'debug', SITE: 'n' },
    });
  });

  it('keeps the assignment when the publish fails: the device asks again on connect', async () => {
    const service = setup(async () => {
      throw new Error('broker closed');
    });
    await expect(service.assignRelease('dev_a', release.id)).resolves.toMatchObject({ desired: { rev: 5 } });
  });

  it('refuses an unknown release before touching the device, and an unknown device', async () => {
    const service = setup(async () => undefined);
    await expect(service.assignRelease('dev_a', '00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(ReleaseNotFoundError);
    await expect(service.assignRelease('dev_b', release.id)).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(service.assignRelease('not a device id!', release.id)).rejects.toBeInstanceOf(DeviceNotFoundError);
  });
});

describe('DevicesService.assignReleaseToMany', () => {
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => void assignedInTx.splice(0));

  it('assigns in the caller’s transaction and publishes nothing: the caller publishes after its commit', async () => {
    const sent: string[] = [];
    const service = setup(async (id) => void sent.push(id));
    const tx = {} as UnitOfWork;
    await expect(service.assignReleaseToMany(tx, ['dev_a', 'dev_b'], release)).resolves.toEqual(
      new Map([['dev_a', desiredState('dev_a')]]),
    );
    expect(assignedInTx).toHaveLength(1);
    expect(assignedInTx[0]![0]).toBe(tx);
    expect(assignedInTx[0]![1]).toEqual(['dev_a', 'dev_b']);
    expect(sent).toEqual([]);
  });

  it('takes only a release read for delivery, which refuses one that cannot be delivered', async () => {
    const service = setup(async () => undefined);
    await expect(service.releaseForDelivery(release.id)).resolves.toBe(release);
    await expect(service.releaseForDelivery('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(ReleaseNotFoundError);
    expect(assignedInTx).toEqual([]);
  });
});

describe('DevicesService.publishCurrent', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('publishes to every device with at most PUBLISH_IN_FLIGHT in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const sent: string[] = [];
    const service = setup(async (id) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      sent.push(id);
    });
    const ids = Array.from({ length: 2 * PUBLISH_IN_FLIGHT + 44 }, (_, i) => `dev_${i}`);
    await service.publishCurrent(ids);
    expect(sent.sort()).toEqual([...ids].sort());
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(PUBLISH_IN_FLIGHT);
  });
});

describe('DevicesService.desiredFanout', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('publishes parts added as they come through one window: each state once, in order, end after the last', async () => {
    let inFlight = 0;
    let most = 0;
    const sent: [string, number][] = [];
    const service = setup(async (id, desired) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      sent.push([id, openDesired(desired, signing.releaseKeys()).rev]);
    });
    const fanout = service.desiredFanout();
    const part = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ ...desiredState(`dev_${from + i}`), desiredRev: from + i }));
    // Parts of different sizes, the next one added while the previous one is being published.
    fanout.add(part(0, 3));
    await new Promise((resolve) => setImmediate(resolve));
    fanout.add(part(3, PUBLISH_IN_FLIGHT + 10));
    fanout.add(part(PUBLISH_IN_FLIGHT + 13, PUBLISH_IN_FLIGHT));
    await fanout.end();
    const total = 2 * PUBLISH_IN_FLIGHT + 13;
    expect(sent).toHaveLength(total);
    expect(new Set(sent.map(([id]) => id)).size).toBe(total);
    // Each device got the state it was added with, handed over in the order added.
    expect(sent.every(([id, rev]) => id === `dev_${rev}`)).toBe(true);
    expect(most).toBeLessThanOrEqual(PUBLISH_IN_FLIGHT);
    expect(most).toBeGreaterThan(PUBLISH_IN_FLIGHT / 2);
    expect(inFlight).toBe(0);
    expect(() => fanout.add(part(0, 1))).toThrow('already ended');
  });

  it("resolves a part's add once it and every part before it were handed over, a failed publish included", async () => {
    // Each publish waits until the test lets it go, so the order they finish in is the test's.
    const pending = new Map<string, (e?: Error) => void>();
    const service = setup((id) => new Promise<void>((resolve, reject) => pending.set(id, (e) => (e ? reject(e) : resolve()))));
    const started = async (count: number) => {
      while (pending.size < count) await new Promise((resolve) => setImmediate(resolve));
    };
    const finish = (id: string, e?: Error) => {
      pending.get(id)!(e);
      pending.delete(id);
    };
    const fanout = service.desiredFanout();
    const settled: string[] = [];
    void fanout.add([desiredState('dev_1'), desiredState('dev_2')]).then(() => settled.push('first'));
    void fanout.add([desiredState('dev_3')]).then(() => settled.push('second'));
    await started(3);
    // The second part is out before the first: its add waits for the first part's last publish.
    finish('dev_3');
    finish('dev_1');
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toEqual([]);
    finish('dev_2', new Error('socket closed'));
    await fanout.end();
    expect(settled).toEqual(['first', 'second']);
    // A part added to a fan-out with nothing in flight is out as soon as it is published.
    const later = service.desiredFanout();
    const handed = later.add([desiredState('dev_4')]);
    await started(1);
    finish('dev_4');
    await expect(handed).resolves.toBeUndefined();
    await later.end();
  });
});
