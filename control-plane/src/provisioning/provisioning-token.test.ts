import { deviceMqttUrl } from './mqtt-endpoint';
import { newProvisioningToken, provisioningTokenHash } from './provisioning-token';

describe('provisioning tokens', () => {
  it('are ptk_ + 32 random bytes in base64url', () => {
    const token = newProvisioningToken();
    expect(token).toMatch(/^ptk_[A-Za-z0-9_-]{43}$/);
    expect(newProvisioningToken()).not.toBe(token);
  });

  it('hash to a stable sha256 hex', () => {
    const token = newProvisioningToken();
    expect(provisioningTokenHash(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(provisioningTokenHash(token)).toBe(provisioningTokenHash(token));
    expect(provisioningTokenHash(newProvisioningToken())).not.toBe(provisioningTokenHash(token));
  });

  it('reject text that cannot be a token before any lookup', () => {
    for (const text of ['', 'ptk_', 'ptk_short', `xyz_${'a'.repeat(43)}`, `ptk_${'a'.repeat(42)}!`, `ptk_${'a'.repeat(44)}`]) {
      expect(provisioningTokenHash(text)).toBeUndefined();
    }
  });
});

describe('deviceMqttUrl', () => {
  const PLAIN = { port: 1883, tls: false };
  it('prefers the configured public URL', () => {
    expect(deviceMqttUrl('mqtts://fleet.example.com:8883', () => '10.0.0.5', PLAIN)).toBe('mqtts://fleet.example.com:8883');
  });

  it('otherwise uses the host the device reached the API with, on the broker port', () => {
    expect(deviceMqttUrl(undefined, () => '192.168.1.10', PLAIN)).toBe('mqtt://192.168.1.10:1883');
    expect(deviceMqttUrl(undefined, () => 'cp.local', { port: 41234, tls: false })).toBe('mqtt://cp.local:41234');
  });

  it('brackets an IPv6 literal', () => {
    expect(deviceMqttUrl(undefined, () => '::1', PLAIN)).toBe('mqtt://[::1]:1883');
    expect(deviceMqttUrl(undefined, () => '[fe80::1]', PLAIN)).toBe('mqtt://[fe80::1]:1883');
  });

  it('names the TLS listener with mqtts:// when the broker has one', () => {
    expect(deviceMqttUrl(undefined, () => 'cp.local', { port: 8883, tls: true })).toBe('mqtts://cp.local:8883');
  });
});
