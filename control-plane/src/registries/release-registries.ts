import { imageRegistry, type RegistryAuth, type Release } from '@flotilla/shared';

export interface StoredLogin {
  username: string;
  password: string;
}

/** Every registry the release's components pull from, sorted. */
export function releaseRegistries(release: Pick<Release, 'assembly'> | null): string[] {
  return [...new Set(release?.assembly.components.map((c) => imageRegistry(c.image)) ?? [])].sort();
}

/**
 * What a device running `release` is sent: the credentials of the registries the release pulls
 * from, and no others (a device never learns logins it does not need).
 */
export function registryAuthForRelease(
  release: Pick<Release, 'assembly'> | null,
  logins: ReadonlyMap<string, StoredLogin>,
): RegistryAuth[] {
  return releaseRegistries(release).flatMap((registry) => {
    const login = logins.get(registry);
    return login ? [{ registry, username: login.username, password: login.password }] : [];
  });
}
