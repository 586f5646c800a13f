import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  RegistryHost,
  imageRegistry,
  imageRepository,
  type RegistryAuth,
  type RegistryCredentialsView,
  type Release,
  type SetRegistryCredentialsRequest,
} from '@flotilla/shared';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { FleetNotFoundError } from '../fleets/fleets.errors';
import { RegistryCredentialsRepository, type RegistryCredentialsRow } from './registry-credentials.repository';
import { InvalidRegistryHostError, RegistryCredentialsNotFoundError, RegistryGrantNotFoundError } from './registries.errors';
import { boundedGet } from './bounded-fetch';
import { imageSizeLookup, type ImageSizeLookup } from './image-sizes';
import {
  planRegistryAccess,
  readableByDevice,
  releaseRegistries,
  type DeviceStanding,
  type ReleaseImages,
  type StoredLogin,
  type TokenSettings,
} from './registry-access';
import { SecretBox } from './secret-box';
import { RegistryTokenAuthService } from './tokens/registry-token-auth.service';

export const REGISTRY_SECRET_BOX = Symbol('RegistrySecretBox');
export const REGISTRY_SETTINGS = Symbol('RegistrySettings');

export interface RegistrySettings {
  /** The API URL registries reach the control plane at (their token realm); otherwise the one the admin's request reached. */
  publicApiUrl?: string;
}

/** The registry access a batch of desired messages carries; each registry's settings are read once for the whole batch. */
export type RegistryAuthLookup = (release: Pick<Release, 'assembly'> | null, device: DeviceStanding) => Promise<RegistryAuth[]>;

/**
 * Logins for private registries, per registry host, and the fleets they are granted to. The
 * password is sealed before it is stored and is never answered by the API nor logged; it leaves
 * the control plane only in the `desired` message of a device that may hold it
 * (`planRegistryAccess`). Registries whose tokens this control plane issues get tokens instead.
 */
@Injectable()
export class RegistriesService {
  private readonly logger = new Logger('Registries');

  constructor(
    private readonly credentials: RegistryCredentialsRepository,
    @Inject(REGISTRY_SECRET_BOX) private readonly box: SecretBox,
    private readonly tokens: RegistryTokenAuthService,
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

  /** The caller has checked that the fleet exists. Answers the login's view before and after. */
  async grant(
    host: string,
    fleetId: string,
    actor: OperatorPrincipal,
  ): Promise<{ before: RegistryCredentialsView; after: RegistryCredentialsView }> {
    const registry = parseHost(host);
    const [before] = await this.credentials.findByRegistries([registry]);
    if (!before) throw new RegistryCredentialsNotFoundError(registry);
    const after = await this.credentials.grant(registry, fleetId, actor.id);
    if (after === 'no-fleet') throw new FleetNotFoundError(fleetId);
    if (!after) throw new RegistryCredentialsNotFoundError(registry);
    return { before: toView(before), after: toView(after) };
  }

  async revokeGrant(host: string, fleetId: string): Promise<{ before: RegistryCredentialsView; after: RegistryCredentialsView }> {
    const registry = parseHost(host);
    const [before] = await this.credentials.findByRegistries([registry]);
    if (!before) throw new RegistryCredentialsNotFoundError(registry);
    if (!(await this.credentials.revokeGrant(registry, fleetId))) throw new RegistryGrantNotFoundError(registry, fleetId);
    return { before: toView(before), after: { ...toView(before), grantedFleetIds: before.grantedFleetIds.filter((f) => f !== fleetId) } };
  }

  fleetHasGrants(fleetId: string): Promise<boolean> {
    return this.credentials.fleetHasGrants(fleetId);
  }

  /** A lookup for one publish (one device, or a batch): each registry is read at most once, in one query. */
  lookup(now: () => Date = () => new Date()): RegistryAuthLookup {
    const access = memo(async (registry: string) => {
      const found = await this.credentials.findAccess(registry);
      return { token: found.token, login: found.login && this.open(found.login) };
    });
    return async (release, device) => {
      const tokenRegistries = new Map<string, TokenSettings>();
      const logins = new Map<string, StoredLogin>();
      for (const registry of releaseRegistries(release)) {
        const { token, login } = await access(registry);
        if (token) tokenRegistries.set(registry, token);
        else if (login) logins.set(registry, login);
      }
      return planRegistryAccess(release, device, tokenRegistries, logins).map((plan) =>
        plan.kind === 'token'
          ? this.tokens.issue(plan.registry, plan, device.deviceId, plan.repositories, now())
          : { registry: plan.registry, username: plan.username, password: plan.password },
      );
    };
  }

  /** Whether what the control plane reads of each of `images` with its own access may reach `device` (`readableByDevice`). */
  async readableByDevice(device: DeviceStanding, images: readonly string[]): Promise<boolean> {
    for (const registry of new Set(images.map((image) => imageRegistry(image)))) {
      if (!readableByDevice(device, await this.credentials.findAccess(registry))) return false;
    }
    return true;
  }

  /**
   * Image sizes from the registries (a rollout's dry run: how much each device downloads), read
   * with the control plane's own pull token for a token-issued registry, or the stored login.
   */
  imageSizes(): ImageSizeLookup {
    return imageSizeLookup((ref) => this.controlPlaneAccess(ref), boundedGet);
  }

  /**
   * How the control plane itself reads `ref` from its registry: a 5-minute pull token of its
   * own for a token-issued registry, else the stored login (whatever its grants: they say which
   * devices may hold it, and the control plane holds it anyway).
   */
  async controlPlaneAccess(ref: string): Promise<RegistryAuth | undefined> {
    return (await this.controlPlaneAccessFor({ assembly: { components: [{ image: ref }] } }))[0];
  }

  /** The control plane's own access to every registry `release` pulls from (resolving its tags at publish, sizing it). */
  async controlPlaneAccessFor(release: ReleaseImages): Promise<RegistryAuth[]> {
    const access: RegistryAuth[] = [];
    for (const registry of releaseRegistries(release)) {
      const found = await this.credentials.findAccess(registry);
      if (found.token) {
        const repositories = release.assembly.components
          .filter((c) => imageRegistry(c.image) === registry)
          .map((c) => imageRepository(c.image));
        access.push(this.tokens.issue(registry, { ...found.token, ttlSeconds: 300 }, 'flotilla-control-plane', repositories, new Date()));
      } else {
        const login = found.login && this.open(found.login);
        if (login) access.push({ registry, username: login.username, password: login.password });
      }
    }
    return access;
  }

  private open(row: RegistryCredentialsRow): StoredLogin | undefined {
    const registry = row.registry;
    try {
      return { username: row.username, password: this.box.open(row.passwordSealed, registry), grantedFleetIds: row.grantedFleetIds };
    } catch (e) {
      // Devices then pull anonymously and say the registry refused them; the operator sets the credentials again.
      this.logger.error(`credentials for registry ${registry} are unreadable (${(e as Error).message}); set them again`);
      return undefined;
    }
  }
}

/** One call per key for the life of the returned function. */
function memo<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const seen = new Map<string, Promise<T>>();
  return (key) => {
    let value = seen.get(key);
    if (!value) seen.set(key, (value = load(key)));
    return value;
  };
}

function parseHost(host: string): string {
  const parsed = RegistryHost.safeParse(host);
  if (!parsed.success) throw new InvalidRegistryHostError(host);
  return parsed.data;
}

function toView(row: RegistryCredentialsRow): RegistryCredentialsView {
  return {
    registry: row.registry,
    username: row.username,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
    grantedFleetIds: row.grantedFleetIds,
  };
}
