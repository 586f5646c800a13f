import { randomUUID } from 'node:crypto';
import {
  PROTOCOL_SCHEMA,
  type DeviceEvent,
  type Inventory,
  type OsStatus,
  type Reported,
  type SlotRef,
  type Telemetry,
  type UpdateDeferral,
  type UpdatePhase,
} from '@flotilla/shared';

/** Where a simulated device stands in its A/B update, as `reported.update` tells it. */
export interface SimUpdateState {
  rev: number;
  phase: UpdatePhase;
  active: SlotRef | null;
  candidate: SlotRef | null;
  failedRev: number | null;
  lastFailure: string | null;
  deferral: UpdateDeferral | null;
}

export function simReported(state: SimUpdateState, os: OsStatus | undefined, at: Date): Reported {
  return {
    schema: PROTOCOL_SCHEMA,
    at: at.toISOString(),
    agentVersion: 'sim-0.1.0',
    rev: state.rev,
    update: {
      phase: state.phase,
      active: state.active,
      candidate: state.candidate,
      failedRev: state.failedRev,
      lastFailure: state.lastFailure,
      ...(state.deferral ? { deferred: state.deferral } : {}),
    },
    components: [],
    ...(os ? { os } : {}),
  };
}

/** An update event about `slot`, with an id as the agent gives: a copy delivered again is stored once. */
export function simUpdateEvent(
  kind: DeviceEvent['kind'],
  slot: SlotRef,
  message: string,
  at: Date,
  id: string = randomUUID(),
): DeviceEvent {
  const event: DeviceEvent = { schema: PROTOCOL_SCHEMA, id, at: at.toISOString(), kind, rev: slot.rev, message };
  if (slot.releaseId) event.releaseId = slot.releaseId;
  return event;
}

/** One plausible sample of a 4 GiB board at work. */
export function simTelemetry(random: () => number, at: Date): Telemetry {
  const memTotalBytes = 4 * 1024 ** 3;
  return {
    schema: PROTOCOL_SCHEMA,
    samples: [
      {
        at: at.toISOString(),
        cpuPercent: Math.round((5 + random() * 30) * 10) / 10,
        memUsedBytes: Math.round(memTotalBytes * (0.2 + random() * 0.3)),
        memTotalBytes,
        temperatureC: Math.round((45 + random() * 15) * 10) / 10,
      },
    ],
  };
}

/** A Raspberry Pi 4's inventory, with a MAC and address derived from the device id (stable per device). */
export function simInventory(deviceId: string, device: { timeZone?: string; board?: string }, at: Date): Inventory {
  const n = parseInt(deviceId.slice(-4), 36) % 250;
  return {
    schema: PROTOCOL_SCHEMA,
    at: at.toISOString(),
    hostname: deviceId.replace(/^dev_/, 'sim-').slice(0, 20),
    arch: 'arm64',
    timeZone: device.timeZone ?? 'UTC',
    board: { model: device.board ?? 'Raspberry Pi 4 Model B Rev 1.5 (simulated)', serial: deviceId.slice(-16) },
    cpu: { manufacturer: 'ARM', brand: 'Cortex-A72', cores: 4, speedGHz: 1.8 },
    memory: { totalBytes: 4 * 1024 ** 3 },
    os: { distro: 'Debian GNU/Linux', release: '12 (bookworm)', kernel: '6.6.51+rpt-rpi-v8' },
    disks: [{ mount: '/', fs: 'ext4', sizeBytes: 31_000_000_000, usedBytes: 6_200_000_000 }],
    network: [
      {
        iface: 'eth0',
        mac: `dc:a6:32:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`,
        ip4: `10.0.${n >> 8}.${n & 255}`,
      },
    ],
    temperatures: [{ zone: 'cpu-thermal', celsius: 52.1 }],
  };
}
