import { imageRegistry, imageRepository, type Release } from '@flotilla/shared';

/** What decides which registry secrets a device may receive. */
export interface DeviceStanding {
  deviceId: string;
  fleetId: string | null;
  /** Registered with a provisioning token an admin made; see `NewDevice.registeredByAdmin`. */
  registeredByAdmin: boolean;
}

export interface StoredLogin {
  username: string;
  password: string;
  grantedFleetIds: readonly string[];
}

export interface TokenSettings {
  service: string;
  ttlSeconds: number;
}

/** What a device is to be given for one registry: a login as stored, or a token to sign now. */
export type RegistryAccessPlan =
  | { registry: string; kind: 'login'; username: string; password: string }
  | { registry: string; kind: 'token'; service: string; ttlSeconds: number; repositories: string[] };

/** What is read of a release here: its components' images. */
export type ReleaseImages = { assembly: { components: readonly { image: string }[] } };

/** Every registry the release's components pull from, sorted. */
export function releaseRegistries(release: ReleaseImages | null): string[] {
  return [...new Set(release?.assembly.components.map((c) => imageRegistry(c.image)) ?? [])].sort();
}

/**
 * The registry access a device running `release` is given, registry by registry:
 * - a registry whose tokens the control plane issues: a pull token for exactly the release's
 *   repositories there (a token is harmless to whoever registered the device: it reads only
 *   images the release names, for minutes);
 * - any other registry with a stored login: the login, only when an admin granted it to the
 *   device's fleet AND an admin's provisioning token registered the device. An operator can
 *   register devices and move them, so without the second condition an operator key could
 *   register its own "device" and read the password off its `desired`.
 * Token issuing wins when a registry has both. Nothing for registries without either.
 */
export function planRegistryAccess(
  release: Pick<Release, 'assembly'> | null,
  device: DeviceStanding,
  tokenRegistries: ReadonlyMap<string, TokenSettings>,
  logins: ReadonlyMap<string, StoredLogin>,
): RegistryAccessPlan[] {
  return releaseRegistries(release).flatMap((registry): RegistryAccessPlan[] => {
    const token = tokenRegistries.get(registry);
    if (token) {
      const repositories = [
        ...new Set(release!.assembly.components.filter((c) => imageRegistry(c.image) === registry).map((c) => imageRepository(c.image))),
      ].sort();
      return [{ registry, kind: 'token', service: token.service, ttlSeconds: token.ttlSeconds, repositories }];
    }
    const login = logins.get(registry);
    if (!login || !receivesLogin(device, login)) return [];
    return [{ registry, kind: 'login', username: login.username, password: login.password }];
  });
}

/** Whether `device` is given a stored login (planRegistryAccess): granted to its fleet, and an admin's token registered it. */
function receivesLogin(device: DeviceStanding, login: Pick<StoredLogin, 'grantedFleetIds'>): boolean {
  return device.registeredByAdmin && device.fleetId !== null && login.grantedFleetIds.includes(device.fleetId);
}

/**
 * Whether what the control plane reads from a registry with its own access (a binary delta of an
 * image there, `deltas/`) may reach `device`: where it needs no login, where the control plane
 * issues the tokens (any key holder pulls there, viewers included), or where the device is given
 * the stored login itself. Otherwise a device an operator registered, or one of a fleet without
 * the grant, read a private image through the delta it was served: the content that the login,
 * withheld from its `desired`, protects.
 */
export function readableByDevice(
  device: DeviceStanding,
  access: { token?: unknown; login?: Pick<StoredLogin, 'grantedFleetIds'> | undefined },
): boolean {
  return access.token !== undefined || access.login === undefined || receivesLogin(device, access.login);
}
