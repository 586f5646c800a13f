import { generateKeyPairSync } from 'node:crypto';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { ProvisioningFile, RegisterDeviceResponse } from '@flotilla/shared';
import { certificateRequest } from '../../../agent/src/provisioning/certificate-request';
import { postJson } from '../../../agent/src/provisioning/pinned-http';
import type { ApiClient } from '../../support/api-client';

/** A device as a test drives it: its own key (made here, never sent), and what registration answered. */
export interface TestDevice {
  deviceId: string;
  keyPem: string;
  certPem?: string;
  password?: string;
}

export async function provisioningFile(api: ApiClient, body: object = { maxUses: 10 }): Promise<ProvisioningFile> {
  const res = await api.post<{ provisioning: ProvisioningFile }>('/api/v1/provisioning-tokens', body);
  if (res.status !== 201) throw new Error(`token: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.provisioning;
}

/** Registers over HTTPS, verified against the provisioning file's CAs only (the agent's own client). */
export async function registerDevice(p: ProvisioningFile, name: string, withCsr = true): Promise<TestDevice> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const csr = withCsr ? certificateRequest(privateKey, name) : undefined;
  const res = await postJson(
    `${p.apiUrl}/api/v1/devices/register`,
    { token: p.token, name, ...(csr ? { csr } : {}) },
    { ca: p.caCertificates! },
  );
  if (res.status !== 201) throw new Error(`register: HTTP ${res.status} ${res.text}`);
  const answer = JSON.parse(res.text) as RegisterDeviceResponse;
  return {
    deviceId: answer.deviceId,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    ...(answer.certificate ? { certPem: answer.certificate } : {}),
    ...(answer.password ? { password: answer.password } : {}),
  };
}

/** One MQTT connect, no retries: resolves connected or rejects with the broker's refusal. */
export function connectDevice(url: string, ca: string[], clientId: string, auth: Partial<IClientOptions>): Promise<MqttClient> {
  return connectAsync(
    url,
    { clientId, ca, rejectUnauthorized: true, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...auth },
    false,
  );
}

export async function refusal(connecting: Promise<MqttClient>): Promise<string> {
  const outcome = await connecting.then(
    async (client) => {
      await client.endAsync();
      return 'connected';
    },
    (e: Error) => e.message,
  );
  return outcome;
}
