import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  PROTOCOL_SCHEMA,
  type CreateProvisioningTokenRequest,
  type ProvisioningTokenSummary,
  type ProvisioningTokenView,
  type RegisterDeviceRequest,
  type RegisterDeviceResponse,
} from '@flotilla/shared';
import type { OperatorPrincipal } from '../auth/operator-principal';
import { retryTransient } from '../database/write-alone';
import { DevicesService } from '../devices/devices.service';
import { FleetsService } from '../fleets/fleets.service';
import { isUuid } from '../ids';
import { GrantedFleetNeedsAdminError } from '../registries/registries.errors';
import { RegistriesService } from '../registries/registries.service';
import { SigningService } from '../signing/signing.service';
import { DeviceCertificatesService } from './device-certificates.service';
import { MQTT_ENDPOINT, type MqttEndpoint } from './mqtt-endpoint';
import { newProvisioningToken, provisioningTokenHash } from './provisioning-token';
import type { ProvisioningTokenEntity } from './provisioning-token.entity';
import { requestAuthority } from '../http/request-authority';
import { ProvisioningTokenRepository } from './provisioning-token.repository';
import {
  ProvisioningTokenExhaustedError,
  ProvisioningTokenExpiredError,
  ProvisioningTokenInvalidError,
  ProvisioningTokenNotFoundError,
  ProvisioningTokenRevokedError,
} from './provisioning.errors';

export const PROVISIONING_SETTINGS = Symbol('ProvisioningSettings');

/** How long a registration runs its transaction again while the database is transiently unavailable. */
const REGISTRATION_RETRY_MS = 15_000;

export interface ProvisioningSettings {
  /** The API URL written into provisioning files; otherwise the one the operator's request reached (on the HTTPS port if there is one). */
  publicApiUrl?: string;
  /** Port of the HTTPS listener: devices are sent there rather than to the plain one. */
  httpsPort?: number;
  /** What devices pin: the CA certificates the control plane's TLS certificates chain to. */
  caCertificates?: string[];
}

/** Where the request arrived: the default address devices are told to use. */
export interface RequestOrigin {
  /** `http` or `https` */
  protocol: string;
  /** The `Host` header as sent, checked (requestAuthority) only when no public URL replaces it. */
  hostHeader: string | undefined;
}

@Injectable()
export class ProvisioningService {
  constructor(
    private readonly tokens: ProvisioningTokenRepository,
    private readonly devices: DevicesService,
    private readonly fleets: FleetsService,
    private readonly signing: SigningService,
    private readonly registries: RegistriesService,
    private readonly certificates: DeviceCertificatesService,
    @Inject(MQTT_ENDPOINT) private readonly mqtt: MqttEndpoint,
    @Inject(PROVISIONING_SETTINGS) private readonly settings: ProvisioningSettings,
  ) {}

  /**
   * A token (shown once) and a ready `provisioning.json` carrying it and the release-signing keys.
   * The token remembers whether an admin made it: only devices registered with such a token may
   * receive registry logins (`planRegistryAccess`), and only an admin makes tokens for a fleet
   * that holds a login grant.
   */
  async createToken(
    request: CreateProvisioningTokenRequest,
    origin: RequestOrigin,
    actor: OperatorPrincipal,
  ): Promise<ProvisioningTokenView> {
    if (request.fleetId) await this.fleets.assertExists(request.fleetId);
    const fleetId = request.fleetId ?? null;
    const createdByAdmin = actor.role === 'admin';
    if (fleetId && !createdByAdmin && (await this.registries.fleetHasGrants(fleetId)))
      throw new GrantedFleetNeedsAdminError(fleetId, 'a provisioning token for it');
    const token = newProvisioningToken();
    const row = await this.tokens.create({
      id: randomUUID(),
      tokenHash: provisioningTokenHash(token)!,
      maxUses: request.maxUses,
      expiresInSeconds: request.expiresInSeconds,
      fleetId,
      createdByAdmin,
    });
    return {
      ...this.view(row),
      token,
      provisioning: {
        schema: PROTOCOL_SCHEMA,
        apiUrl: this.apiUrlForDevice(origin),
        mqttUrl: this.mqtt.urlForDevice(() => requestAuthority(origin.hostHeader).hostname),
        token,
        releaseKeys: this.signing.releaseKeys(),
        ...(this.settings.caCertificates ? { caCertificates: this.settings.caCertificates } : {}),
      },
    };
  }

  /** Devices already registered with the token keep their credentials; only new registrations are refused. */
  async revokeToken(id: string): Promise<ProvisioningTokenSummary> {
    const row = isUuid(id) ? await this.tokens.revoke(id) : undefined;
    if (!row) throw new ProvisioningTokenNotFoundError(id);
    return this.view(row);
  }

  /**
   * The device, its certificate's record and the token's use are written in one transaction, so a
   * registration that fails (the database busy or going away mid-request) leaves nothing behind:
   * no use lost (a token for one device could otherwise never register it on retry), no device
   * without its certificate. While the database is transiently unavailable the transaction is run
   * again, for up to `REGISTRATION_RETRY_MS`; past it the request answers 503 (ApiExceptionFilter)
   * and the device retries, as the agent does. The hashing and signing (CPU) come before, and the
   * token's row is locked last, so concurrent registrations with one token wait on each other
   * only for a commit. A fleet token puts the device in the fleet with the fleet's target already
   * assigned. With a CSR (and certificates on), the device gets a client certificate and no password.
   */
  async register(request: RegisterDeviceRequest, origin: RequestOrigin): Promise<RegisterDeviceResponse> {
    const hash = provisioningTokenHash(request.token);
    if (!hash) throw new ProvisioningTokenInvalidError();
    // Before the token's use is taken: a Host that cannot be written into a URL refuses the request whole.
    const mqttUrl = this.mqtt.urlForDevice(() => requestAuthority(origin.hostHeader).hostname);
    // A bad CSR, or a token without a use left, is refused before anything is prepared.
    const key = request.csr && this.certificates.enabled ? await this.certificates.requestedKey(request.csr) : undefined;
    const deadline = Date.now() + REGISTRATION_RETRY_MS;
    const retrying = <T>(operation: () => Promise<T>) => retryTransient(operation, { stopping: () => Date.now() > deadline });
    const standing = await retrying(() => this.tokens.standing(hash));
    if (standing.status !== 'usable') throw refusal(standing.status);
    const device = this.devices.prepare({
      name: request.name,
      board: request.board,
      fleetId: standing.fleetId,
      registeredByAdmin: standing.createdByAdmin,
      credential: key ? 'certificate' : 'password',
    });
    const { deviceId } = device.credential;
    const issued = key ? await retrying(() => this.certificates.signAtRegistration(deviceId, standing.fleetId, key)) : undefined;
    await retrying(() =>
      this.tokens.transaction(async (uow) => {
        // Already there: an earlier attempt committed, only its reply was lost; its use was taken.
        if (!(await this.devices.insert(uow, device))) return;
        if (issued) await this.certificates.recordAtRegistration(uow, deviceId, issued);
        const use = await this.tokens.consume(uow, hash);
        if (use.status !== 'consumed') throw refusal(use.status);
      }),
    );
    const common = { mqttUrl, releaseKeys: this.signing.releaseKeys() };
    if (issued) return { deviceId, certificate: issued.certificatePem, ...common };
    return { deviceId, password: device.credential.password!, ...common };
  }

  /** An explicit public URL wins; otherwise the host the operator reached, on the HTTPS port when there is one. */
  private apiUrlForDevice(origin: RequestOrigin): string {
    if (this.settings.publicApiUrl) return this.settings.publicApiUrl;
    const authority = requestAuthority(origin.hostHeader);
    if (this.settings.httpsPort === undefined) return `${origin.protocol}://${authority.host}`;
    return `https://${authority.hostname}:${this.settings.httpsPort}`;
  }

  private view(row: ProvisioningTokenEntity): ProvisioningTokenSummary {
    return {
      id: row.id,
      maxUses: row.maxUses,
      uses: row.uses,
      expiresAt: row.expiresAt.toISOString(),
      fleetId: row.fleetId,
      revokedAt: row.revokedAt?.toISOString() ?? null,
    };
  }
}

function refusal(status: 'unknown' | 'expired' | 'exhausted' | 'revoked'): Error {
  if (status === 'expired') return new ProvisioningTokenExpiredError();
  if (status === 'exhausted') return new ProvisioningTokenExhaustedError();
  if (status === 'revoked') return new ProvisioningTokenRevokedError();
  return new ProvisioningTokenInvalidError();
}
