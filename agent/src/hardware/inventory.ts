import { arch } from 'node:os';
import { PROTOCOL_SCHEMA, type Inventory } from '@flotilla/shared/device';
import {
  readBoardModel,
  readBoardRevision,
  readSerialNumber,
  readThermalZones,
  readThrottling,
  runCommand,
  type CommandRunner,
} from './probes';
import { systemInfo, type SystemInfo } from './system-info';
import { deviceTimeZone } from '../support/time-zone';

export interface InventoryOptions {
  root?: string;
  run?: CommandRunner;
  si?: SystemInfo;
  now?: () => Date;
}

/** Mounts that belong to the engine or live in memory tell an operator nothing about the board's storage. */
const IGNORED_FS = /^(overlay|tmpfs|devtmpfs|squashfs|nsfs|proc|sysfs)$/;
const IGNORED_MOUNT = /^\/(var\/lib\/docker|run|sys|proc|dev)(\/|$)/;

/**
 * What the board is, for the `inventory` channel. Board probes come first because on ARM
 * boards they are exact (device tree), with `systeminformation` as the fallback that also
 * covers x86 machines and VMs.
 */
export async function collectInventory(options: InventoryOptions = {}): Promise<Inventory> {
  const root = options.root ?? '/';
  const si = options.si ?? systemInfo;
  const [cpu, mem, os, disks, nets, system, model, serial, revision, temperatures, throttled] = await Promise.all([
    si.cpu(),
    si.mem(),
    si.osInfo(),
    si.fsSize(),
    si.networkInterfaces(),
    si.system(),
    readBoardModel(root),
    readSerialNumber(root),
    readBoardRevision(root),
    readThermalZones(root),
    readThrottling(options.run ?? runCommand),
  ]);
  const fallbackModel = [system.manufacturer, system.model]
    .map((s) => s?.trim())
    .filter((s) => s && s !== '-')
    .join(' ');
  const systemSerial = system.serial && system.serial !== '-' ? system.serial : undefined;
  const cpuTemperature = temperatures.length > 0 ? undefined : (await si.cpuTemperature()).main;
  return {
    schema: PROTOCOL_SCHEMA,
    at: (options.now ?? (() => new Date()))().toISOString(),
    hostname: os.hostname,
    arch: os.arch || arch(),
    timeZone: deviceTimeZone(),
    board: {
      model: model ?? (fallbackModel || 'unknown'),
      ...optional('serial', serial ?? systemSerial),
      ...optional('revision', revision),
    },
    cpu: { manufacturer: cpu.manufacturer, brand: cpu.brand, cores: cpu.cores, ...(cpu.speed > 0 ? { speedGHz: cpu.speed } : {}) },
    memory: { totalBytes: mem.total },
    os: { distro: os.distro, release: os.release, kernel: os.kernel },
    disks: disks
      .filter((d) => !IGNORED_FS.test(d.type) && !IGNORED_MOUNT.test(d.mount))
      .map((d) => ({ mount: d.mount, fs: d.type || d.fs, sizeBytes: d.size, usedBytes: d.used })),
    network: (Array.isArray(nets) ? nets : [nets])
      .filter((n) => !n.internal && !n.virtual && n.mac)
      .map((n) => ({ iface: n.iface, mac: n.mac, ...optional('ip4', n.ip4), ...optional('ip6', n.ip6) })),
    temperatures:
      temperatures.length > 0 ? temperatures : typeof cpuTemperature === 'number' ? [{ zone: 'cpu', celsius: cpuTemperature }] : [],
    ...(throttled ? { throttled } : {}),
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value ? { [key]: value } : {}) as { [P in K]?: string };
}
