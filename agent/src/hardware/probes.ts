import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Board facts that `systeminformation` does not read, from the kernel's own files. Every
 * probe takes the root of the file system to read (default `/`), so tests run them
 * against a fake tree, and returns `undefined` when the board does not have the file:
 * an x86 box has no device tree, a VM may have no thermal zone.
 */

/** Runs a program and returns its stdout; rejects when it is missing or fails. */
export type CommandRunner = (file: string, args: string[]) => Promise<string>;

export const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

async function readText(root: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

/** Device-tree strings end with a NUL byte (devicetree spec, "string" property type). */
function dtString(text: string | undefined): string | undefined {
  const value = text?.replace(/\0+$/, '').trim();
  return value ? value : undefined;
}

/**
 * e.g. "Raspberry Pi 4 Model B Rev 1.5". A device tree without `model` (QEMU's virt
 * machine has none) is named by its most specific `compatible` string ("linux,dummy-virt").
 */
export async function readBoardModel(root = '/'): Promise<string | undefined> {
  const model = dtString(await readText(root, 'proc/device-tree/model'));
  if (model) return model;
  return dtString((await readText(root, 'proc/device-tree/compatible'))?.split('\0')[0]);
}

/** The board's serial from the device tree, else the `Serial` line Raspberry Pi kernels put in /proc/cpuinfo. */
export async function readSerialNumber(root = '/'): Promise<string | undefined> {
  return dtString(await readText(root, 'proc/device-tree/serial-number')) ?? cpuinfoField(await readText(root, 'proc/cpuinfo'), 'Serial');
}

/** The Raspberry Pi revision code (e.g. "c03115"), which names model, memory and maker. */
export async function readBoardRevision(root = '/'): Promise<string | undefined> {
  return cpuinfoField(await readText(root, 'proc/cpuinfo'), 'Revision');
}

function cpuinfoField(cpuinfo: string | undefined, field: string): string | undefined {
  const match = cpuinfo?.match(new RegExp(`^${field}\\s*:\\s*(\\S+)\\s*$`, 'm'));
  return match?.[1];
}

export interface ThermalReading {
  zone: string;
  celsius: number;
}

/** Every `/sys/class/thermal/thermal_zone*` with a readable `temp` (millidegrees Celsius), named by its `type`. */
export async function readThermalZones(root = '/'): Promise<ThermalReading[]> {
  const dir = 'sys/class/thermal';
  let entries: string[];
  try {
    entries = await readdir(join(root, dir));
  } catch {
    return [];
  }
  const zones = entries.filter((e) => /^thermal_zone\d+$/.test(e)).sort((a, b) => zoneIndex(a) - zoneIndex(b));
  const readings = await Promise.all(
    zones.map(async (zone): Promise<ThermalReading | undefined> => {
      const milli = Number.parseInt((await readText(root, `${dir}/${zone}/temp`)) ?? '', 10);
      if (!Number.isFinite(milli)) return undefined;
      const type = (await readText(root, `${dir}/${zone}/type`))?.trim();
      return { zone: type || zone, celsius: milli / 1000 };
    }),
  );
  return readings.filter((r): r is ThermalReading => r !== undefined);
}

function zoneIndex(zone: string): number {
  return Number(zone.slice('thermal_zone'.length));
}

export interface Throttling {
  raw: string;
  underVoltage: boolean;
  throttled: boolean;
}

/**
 * `vcgencmd get_throttled` prints `throttled=0x50005`. Bits per the Raspberry Pi
 * documentation ("vcgencmd", get_throttled): 0 under-voltage detected now, 2 currently
 * throttled; the high bits (16, 18) say the same happened since boot.
 */
export function parseThrottled(output: string): Throttling | undefined {
  const match = /throttled=(0x[0-9a-fA-F]+)/.exec(output);
  if (!match) return undefined;
  const bits = Number.parseInt(match[1]!, 16);
  return { raw: match[1]!, underVoltage: (bits & 0x1) !== 0, throttled: (bits & 0x4) !== 0 };
}

/** Undefined off a Raspberry Pi, where `vcgencmd` does not exist. */
export async function readThrottling(run: CommandRunner = runCommand): Promise<Throttling | undefined> {
  try {
    return parseThrottled(await run('vcgencmd', ['get_throttled']));
  } catch {
    return undefined;
  }
}
