import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type {
  CreateProvisioningTokenRequest,
  ProvisioningTokenView,
  RegisterDeviceRequest,
  RegisterDeviceResponse,
} from '@flotilla/shared';
import { DevicesService } from '../devices/devices.service';
import { MQTT_ENDPOINT, type MqttEndpoint } from './mqtt-endpoint';
import { newProvisioningToken, provisioningTokenHash } from './provisioning-token';
import { ProvisioningTokenRepository } from './provisioning-token.repository';
import { ProvisioningTokenExhaustedError, ProvisioningTokenExpiredError, ProvisioningTokenInvalidError } from './provisioning.errors';

@Injectable()
export class ProvisioningService {
  constructor(
    private readonly tokens: ProvisioningTokenRepository,
    private readonly devices: DevicesService,
    @Inject(MQTT_ENDPOINT) private readonly mqtt: MqttEndpoint,
  ) {}

  async createToken(request: CreateProvisioningTokenRequest): Promise<ProvisioningTokenView> {
    const token = newProvisioningToken();
    const row = await this.tokens.create({
      id: randomUUID(),
      tokenHash: provisioningTokenHash(token)!,
      maxUses: request.maxUses,
      expiresInSeconds: request.expiresInSeconds,
    });
    return { id: row.id, token, maxUses: row.maxUses, expiresAt: row.expiresAt.toISOString() };
  }

  /**
   * A use of the token is taken before the device is created. Should creating it then fail
   * (the database going away mid-request), that one use is lost, never the limit exceeded.
   */
  async register(request: RegisterDeviceRequest, requestHost: string): Promise<RegisterDeviceResponse> {
    const hash = provisioningTokenHash(request.token);
    if (!hash) throw new ProvisioningTokenInvalidError();
    const outcome = await this.tokens.consume(hash);
    if (outcome === 'unknown') throw new ProvisioningTokenInvalidError();
    if (outcome === 'expired') throw new ProvisioningTokenExpiredError();
    if (outcome === 'exhausted') throw new ProvisioningTokenExhaustedError();
    const credential = await this.devices.create({ name: request.name, board: request.board });
    return { deviceId: credential.deviceId, password: credential.password, mqttUrl: this.mqtt.urlForDevice(requestHost) };
  }
}
