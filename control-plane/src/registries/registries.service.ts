import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  RegistryHost,
  type RegistryAuth,
  type RegistryCredentialsView,
  type Release,
  type SetRegistryCredentialsRequest,
} from '@flotilla/shared';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { RegistryCredentialsRepository, type RegistryCredentialsRow } from './registry-credentials.repository';
import { InvalidRegistryHostError, RegistryCredentialsNotFoundError } from './registries.errors';
import { imageSizeLookup, type ImageSizeLookup } from './image-sizes';
import { registryAuthForRelease, releaseRegistries, type StoredLogin } from './release-registries';
import { SecretBox } from './secret-box';

export const REGISTRY_SECRET_BOX = Symbol('RegistrySecretBox');

/** The credentials a batch of desired messages carries, read once per registry for the whole batch. */
export type RegistryAuthLookup = (release: Pick<Release, 'assembly'> | null) => Promise<RegistryAuth[]>;

/**
 * Credentials for private registries, per registry host. The password is sealed before it is
 * stored and is never answered by the API nor logged; it leaves the control plane only in the
 * `desired` message of a device whose release pulls from that registry.
 */
@Injectable()
export class RegistriesService {
  private readonly logger = new Logger('Registries');

  constructor(
    private readonly credentials: RegistryCredentialsRepository,
    @Inject(REGISTRY_SECRET_BOX) private readonly box: SecretBox,
  ) {}

  async set(
    host: string,
    request: SetRegistryCredentialsRequest,
    actor: OperatorPrincipal,
  ): Promise<{ before: RegistryCredentialsView | null; after: RegistryCredentialsView }> {
    const registry = parseHost(host);
    const { before, after } = await this.credentials.upsert({
      registry,
      username: request.username,
      passwordSealed: this.box.seal(request.password, registry),
      updatedBy: actor.id,
    });
    return { before: before ? toView(before) : null, after: toView(after) };
  }

  async list(): Promise<RegistryCredentialsView[]> {
    return (await this.credentials.list()).map(toView);
  }

  async remove(host: string): Promise<RegistryCredentialsView> {
    const registry = parseHost(host);
    const removed = await this.credentials.remove(registry);
    if (!removed) throw new RegistryCredentialsNotFoundError(registry);
    return toView(removed);
  }

  /** A lookup for one publish (one device, or a batch): each registry's row is read at most once. */
  lookup(): RegistryAuthLookup {
    const logins = new Map<string, Promise<StoredLogin | undefined>>();
    return async (release) => {
      const registries = releaseRegistries(release);
      const found = new Map<string, StoredLogin>();
      for (const registry of registries) {
        let login = logins.get(registry);
        if (!login) {
          login = this.read(registry);
          logins.set(registry, login);
        }
        const value = await login;
        if (value) found.set(registry, value);
      }
      return registryAuthForRelease(release, found);
    };
  }

  /** Image sizes from the registries, with the stored logins (a rollout's dry run: how much each device downloads). */
  imageSizes(): ImageSizeLookup {
    return imageSizeLookup(async (registry) => {
      const login = await this.read(registry);
      return login ? { registry, ...login } : undefined;
    }, fetch);
  }

  private async read(registry: string): Promise<StoredLogin | undefined> {
    const [row] = await this.credentials.findByRegistries([registry]);
    if (!row) return undefined;
    try {
      return { username: row.username, password: this.box.open(row.passwordSealed, registry) };
    } catch (e) {
      // Devices then pull anonymously and say the registry refused them; the operator sets the credentials again.
      this.logger.error(`credentials for registry ${registry} are unreadable (${(e as Error).message}); set them again`);
      return undefined;
    }
  }
}

function parseHost(host: string): string {
  const parsed = RegistryHost.safeParse(host);
  if (!parsed.success) throw new InvalidRegistryHostError(host);
  return parsed.data;
}

function toView(row: RegistryCredentialsRow): RegistryCredentialsView {
  return { registry: row.registry, username: row.username, updatedAt: row.updatedAt.toISOString(), updatedBy: row.updatedBy };
}
