/**
 * Which entry of a manifest list (OCI index) an image is for on this device, as the engine
 * decides when it pulls (containerd's `platforms.Only`): the os must be the device's; arm64 takes
 * variant v8 or none; arm takes the device's variant, then the older ones it runs (v7 → v6 → v5).
 * Matching on the architecture alone took the first `arm` entry of a list, arm/v6 for an arm/v7
 * device or arm/v7 for an arm/v6 one that cannot run it, and every check made from it (the
 * layers' size, the pinned manifest of a delta, the delta itself) was about another image than
 * the one the engine pulls.
 *
 * arm64 does not fall back to 32-bit arm here, though containerd does: not every arm64 CPU runs
 * AArch32 code, and a release that offers no arm64 image is better refused in VERIFY than pulled.
 */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A manifest-list entry's platform as the registry gives it: any field may be missing. */
export interface PlatformFields {
  os?: string;
  architecture?: string;
  variant?: string;
}

/** Aliases to OCI names, and variants to containerd's normal form (arm: v7 when absent; arm64: none for v8). */
export function normalizePlatform(p: PlatformFields): PlatformFields {
  const os = p.os?.toLowerCase();
  let architecture = p.architecture?.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  if (architecture === 'x86_64' || architecture === 'x86-64') architecture = 'amd64';
  else if (architecture === 'aarch64' || architecture === 'arm64') {
    architecture = 'arm64';
    if (variant === '8' || variant === 'v8') variant = undefined;
  } else if (architecture === 'armhf') {
    architecture = 'arm';
    variant = 'v7';
  } else if (architecture === 'armel') {
    architecture = 'arm';
    variant = 'v6';
  } else if (architecture === 'arm') {
    if (variant === undefined || variant === '7') variant = 'v7';
    else if (/^[568]$/.test(variant)) variant = `v${variant}`;
  }
  return { ...(os ? { os } : {}), ...(architecture ? { architecture } : {}), ...(variant ? { variant } : {}) };
}

/** The device's platform from the engine's `Architecture` (uname's machine) and `OSType`. */
export function platformOfMachine(machine: string, os = 'linux'): Platform {
  const arm = /^armv([5-8])/.exec(machine);
  if (arm) return { os, architecture: 'arm', variant: `v${arm[1]}` };
  // x64 and ia32: Node's os.arch(), which inventories from older agents carry.
  const names: Record<string, string> = { x86_64: 'amd64', x64: 'amd64', aarch64: 'arm64', i686: '386', i386: '386', ia32: '386' };
  return { os, architecture: names[machine] ?? machine };
}

/** `linux/arm/v7`, `linux/arm64`. */
export function formatPlatform(p: PlatformFields): string {
  return [p.os ?? '?', p.architecture ?? '?', ...(p.variant ? [p.variant] : [])].join('/');
}

/** The platforms the device runs, best first: itself, then the older arm variants. */
function compatible(device: Platform): PlatformFields[] {
  const own = normalizePlatform(device);
  const arm = own.architecture === 'arm' ? /^v(\d+)$/.exec(own.variant ?? '') : null;
  if (!arm) return [own];
  const older: PlatformFields[] = [];
  for (let v = Number(arm[1]) - 1; v >= 5; v--) older.push({ ...own, variant: `v${v}` });
  return [own, ...older];
}

/**
 * How well an entry suits the device: 0 for its own platform, 1, 2… for older variants it runs,
 * undefined when it does not run it at all (another os or architecture, a newer variant).
 */
export function platformRank(device: Platform, entry: PlatformFields | undefined): number | undefined {
  if (!entry) return undefined;
  const e = normalizePlatform(entry);
  const rank = compatible(device).findIndex((c) => c.os === e.os && c.architecture === e.architecture && c.variant === e.variant);
  return rank < 0 ? undefined : rank;
}

/** The entry of a manifest list the engine would pull on the device; undefined when none runs there. */
export function pickPlatform<T extends { platform?: PlatformFields }>(entries: readonly T[], device: Platform): T | undefined {
  let best: { entry: T; rank: number } | undefined;
  for (const entry of entries) {
    const rank = platformRank(device, entry.platform);
    if (rank !== undefined && (!best || rank < best.rank)) best = { entry, rank };
  }
  return best?.entry;
}

/**
 * The platform a device names in a delta request: `arm/v7`, `arm64` (an agent before variants sent
 * the architecture alone, which for arm means v7, as the engine takes it). Its os is linux: Flotilla's
 * devices run Linux.
 */
export function platformOfRequest(spec: string, os = 'linux'): Platform {
  const [architecture = '', variant] = spec.split('/');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** What a device sends as a delta request's `architecture`: `arm/v7`, `arm64`. */
export function requestOfPlatform(p: Platform): string {
  return p.variant ? `${p.architecture}/${p.variant}` : p.architecture;
}

/** A delta request's `architecture` in normal form (`arm` and `arm/7` are `arm/v7`, `aarch64` is `arm64`): one key per platform. */
export function normalRequest(spec: string): string {
  const p = normalizePlatform(platformOfRequest(spec));
  return requestOfPlatform({ os: p.os ?? 'linux', architecture: p.architecture ?? '', ...(p.variant ? { variant: p.variant } : {}) });
}
