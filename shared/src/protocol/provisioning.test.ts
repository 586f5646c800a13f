import { ProvisioningFile } from './provisioning';
import { RegisterDeviceRequest } from './registration';

const file = {
  schema: 1,
  apiUrl: 'http://127.0.0.1:3000',
  mqttUrl: 'mqtt://127.0.0.1:1883',
  token: `ptk_${'a'.repeat(43)}`,
  releaseKeys: [
    { keyId: 'ed25519:0123456789abcdef', publicKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n' },
  ],
};

describe('ProvisioningFile', () => {
  it('takes no name or board that the registration it leads to would refuse', () => {
    // An image is built once and flashed onto many boards: a field the control plane refuses
    // at registration would leave every one of them unable to register, for good.
    for (const [field, value] of [
      ['name', 'n'.repeat(129)],
      ['board', 'b'.repeat(65)],
    ] as const) {
      expect(RegisterDeviceRequest.safeParse({ token: file.token, [field]: value }).success).toBe(false);
      expect(ProvisioningFile.safeParse({ ...file, [field]: value }).success).toBe(false);
    }
    expect(ProvisioningFile.safeParse({ ...file, name: 'n'.repeat(128), board: 'b'.repeat(64) }).success).toBe(true);
  });

  it('takes http(s) API and mqtt(s)/ws(s) broker URLs without user info', () => {
    for (const apiUrl of ['file:///etc/passwd', 'ftp://host', 'http://user:secret@host', 'http://host/?q', 'HTTP://host'])
      expect(ProvisioningFile.safeParse({ ...file, apiUrl }).success).toBe(false);
    for (const mqttUrl of ['mqtt://user:secret@host:1883', 'wss://host:8443/mq tt', 'ws://host'])
      expect(ProvisioningFile.safeParse({ ...file, mqttUrl }).success).toBe(false);
    expect(ProvisioningFile.safeParse({ ...file, apiUrl: 'http://cp.local:3000/base/', mqttUrl: 'ws://[fe80::1]:80/mqtt' }).success).toBe(
      true,
    );
  });
});
