import { readdir, readFile, readlink, statfs } from 'node:fs/promises';
import { arch, cpus, hostname, networkInterfaces, release, totalmem } from 'node:os';
import { join } from 'node:path';

/**
 * The host facts inventory and telemetry need, read from the kernel's own files (/proc, /sys)
 * and Node's `os`. The `systeminformation` package did this before; loaded, it cost an idle
 * agent about 4 MB of RSS for good, to read a dozen values (BENCHMARKS.md "agent").
 * A test passes plain objects of the same shape instead.
 */
export interface SystemInfo {
  cpu(): Promise<{ manufacturer: string; brand: string; cores: number; speed: number }>;
  /** `active`: what processes hold (total − MemAvailable), not the page cache. */
  mem(): Promise<{ total: number; active: number }>;
  osInfo(): Promise<{ hostname: string; arch: string; distro: string; release: string; kernel: string }>;
  fsSize(): Promise<Array<{ fs: string; type: string; mount: string; size: number; used: number }>>;
  networkInterfaces(): Promise<Array<{ iface: string; mac: string; ip4: string; ip6: string; internal: boolean; virtual: boolean }>>;
  cpuTemperature(): Promise<{ main: number | null }>;
  system(): Promise<{ manufacturer: string; model: string; serial: string }>;
  /** CPU busy % since the previous call (since boot on the first). */
  currentLoad(): Promise<{ currentLoad: number }>;
}

const read = (path: string): Promise<string | undefined> =>
  readFile(path, 'utf8').then(
    (text) => text,
    () => undefined,
  );

/** Vendors by /proc/cpuinfo `vendor_id` (x86) or `CPU implementer` (ARM, the kernel's arm64 cputable). */
const VENDORS: Record<string, string> = {
  GenuineIntel: 'Intel',
  AuthenticAMD: 'AMD',
  '0x41': 'ARM',
  '0x42': 'Broadcom',
  '0x51': 'Qualcomm',
  '0x61': 'Apple',
};
/** Mounts not worth a statfs: kernel and memory file systems. */
const PSEUDO_FS =
  /^(proc|sysfs|devpts|devtmpfs|tmpfs|cgroup2?|securityfs|pstore|bpf|debugfs|tracefs|configfs|fusectl|mqueue|hugetlbfs|binfmt_misc|autofs|nsfs|overlay|squashfs|ramfs|efivarfs|rpc_pipefs|nfsd)$/;

export function procSystemInfo(root = '/'): SystemInfo {
  let lastCpu: { busy: number; total: number } | undefined;
  return {
    async cpu() {
      const info = (await read(join(root, 'proc/cpuinfo'))) ?? '';
      const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.+)$`, 'm').exec(info)?.[1]?.trim();
      const vendor = field('vendor_id') ?? field('CPU implementer') ?? '';
      const list = cpus();
      const mhz =
        Number((await read(join(root, 'sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq'))) ?? 0) / 1000 || list[0]?.speed || 0;
      const manufacturer = VENDORS[vendor] ?? (vendor || 'unknown');
      const model = field('model name') ?? field('Model') ?? list[0]?.model ?? 'unknown';
      return {
        manufacturer,
        // "AMD EPYC" is brand "EPYC" of manufacturer "AMD", as the inventory reported before.
        brand: model.startsWith(`${manufacturer} `) ? model.slice(manufacturer.length + 1) : model,
        cores: list.length,
        speed: Math.round(mhz / 10) / 100,
      };
    },
    async mem() {
      const info = (await read(join(root, 'proc/meminfo'))) ?? '';
      const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? NaN) * 1024;
      const total = kb('MemTotal') || totalmem();
      const available = kb('MemAvailable');
      return { total, active: Number.isFinite(available) ? Math.max(0, total - available) : 0 };
    },
    async osInfo() {
      const text = (await read(join(root, 'etc/os-release'))) ?? (await read(join(root, 'usr/lib/os-release'))) ?? '';
      const field = (name: string) => /^"?(.*?)"?$/.exec(new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1] ?? '')?.[1] ?? '';
      return { hostname: hostname(), arch: arch(), distro: field('NAME') || 'Linux', release: field('VERSION_ID'), kernel: release() };
    },
    async fsSize() {
      const mounts = ((await read(join(root, 'proc/mounts'))) ?? '').split('\n').map((line) => line.split(' '));
      const seen = new Set<string>();
      const out: Awaited<ReturnType<SystemInfo['fsSize']>> = [];
      for (const [fs, mount, type] of mounts) {
        if (!fs || !mount || !type || PSEUDO_FS.test(type) || seen.has(mount)) continue;
        seen.add(mount);
        const path = mount.replace(/\\040/g, ' ');
        const stats = await statfs(path).catch(() => undefined);
        if (!stats || stats.blocks === 0) continue;
        out.push({ fs, type, mount: path, size: stats.blocks * stats.bsize, used: (stats.blocks - stats.bfree) * stats.bsize });
      }
      return out;
    },
    async networkInterfaces() {
      const out: Awaited<ReturnType<SystemInfo['networkInterfaces']>> = [];
      for (const [iface, addresses] of Object.entries(networkInterfaces())) {
        const list = addresses ?? [];
        // Bridges, veths and tunnels have no device behind them in sysfs; NICs (virtio in a VM too) do.
        const physical = await readlink(join(root, 'sys/class/net', iface, 'device')).then(
          () => true,
          () => false,
        );
        out.push({
          iface,
          mac: list[0]?.mac ?? '',
          ip4: list.find((a) => a.family === 'IPv4')?.address ?? '',
          ip6: list.find((a) => a.family === 'IPv6')?.address ?? '',
          internal: list.some((a) => a.internal),
          virtual: !physical,
        });
      }
      return out;
    },
    async cpuTemperature() {
      // Boards have thermal zones (probes.ts); this is the x86 fallback: the first CPU sensor under hwmon.
      const base = join(root, 'sys/class/hwmon');
      for (const hwmon of await readdir(base).catch(() => [] as string[])) {
        const name = (await read(join(base, hwmon, 'name')))?.trim() ?? '';
        if (!/^(coretemp|k10temp|zenpower|cpu_thermal)$/.test(name)) continue;
        const milli = Number(await read(join(base, hwmon, 'temp1_input')));
        if (Number.isFinite(milli) && milli > 0) return { main: milli / 1000 };
      }
      return { main: null };
    },
    async system() {
      const dmi = async (file: string) => (await read(join(root, 'sys/class/dmi/id', file)))?.trim() ?? '';
      return { manufacturer: await dmi('sys_vendor'), model: await dmi('product_name'), serial: await dmi('product_serial') };
    },
    async currentLoad() {
      const line = ((await read(join(root, 'proc/stat'))) ?? '').split('\n')[0] ?? '';
      // cpu  user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
      const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
      const total = ticks.reduce((a, b) => a + b, 0);
      const busy = total - (ticks[3] ?? 0) - (ticks[4] ?? 0);
      const previous = lastCpu ?? { busy: 0, total: 0 };
      lastCpu = { busy, total };
      const span = total - previous.total;
      return { currentLoad: span > 0 ? (100 * (busy - previous.busy)) / span : 0 };
    },
  };
}

export const systemInfo: SystemInfo = procSystemInfo();
